# One Metric row per camera (or zone) and second (issue #11): duplicates a split-brain runner
# wrote before this migration are removed (the first row of a second is kept), then two
# partial unique constraints refuse any new one.

from django.db import migrations, models


def drop_duplicate_seconds(apps, schema_editor) -> None:
    Metric = apps.get_model('analytics', 'Metric')
    table = schema_editor.quote_name(Metric._meta.db_table)
    # GROUP BY puts NULL zones (whole-camera rows) in one group, as the constraint needs.
    schema_editor.execute(
        f"DELETE FROM {table} WHERE id NOT IN "
        f"(SELECT MIN(id) FROM {table} GROUP BY camera_id, zone_id, timestamp)"
    )


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0002_metric_hour'),
        ('cameras', '0002_camera_lease_token'),
    ]

    operations = [
        migrations.RunPython(drop_duplicate_seconds, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='metric',
            constraint=models.UniqueConstraint(condition=models.Q(('zone__isnull', True)), fields=('camera', 'timestamp'), name='metric_unique_camera_second'),
        ),
        migrations.AddConstraint(
            model_name='metric',
            constraint=models.UniqueConstraint(condition=models.Q(('zone__isnull', False)), fields=('camera', 'zone', 'timestamp'), name='metric_unique_zone_second'),
        ),
    ]
