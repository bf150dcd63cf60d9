"""The system log also holds the audit trail: kind, action, actor (was "user") and the object."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("crowdsafe", "0003_runtime_settings_pressure_radius"),
    ]

    operations = [
        migrations.RenameField(model_name="systemlog", old_name="user", new_name="actor"),
        migrations.AddField(
            model_name="systemlog",
            name="kind",
            field=models.CharField(
                choices=[
                    ("platform", "Platform warnings"),
                    ("auth", "Sign-ins"),
                    ("camera", "Cameras"),
                    ("connection", "Camera connections"),
                    ("zone", "Zones and lines"),
                    ("settings", "Settings"),
                    ("alert", "Alerts"),
                    ("user", "Users"),
                ],
                db_index=True,
                default="platform",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="systemlog",
            name="action",
            field=models.CharField(blank=True, db_index=True, max_length=40),
        ),
        migrations.AddField(
            model_name="systemlog",
            name="object_type",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="systemlog",
            name="object_id",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="systemlog",
            name="object_label",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddIndex(
            model_name="systemlog",
            index=models.Index(fields=["object_type", "object_id"], name="systemlog_object"),
        ),
    ]
