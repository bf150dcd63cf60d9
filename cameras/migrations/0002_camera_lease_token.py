# Fencing token of the camera lease and the "recovering" status (issue #11).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cameras', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='camera',
            name='lease_token',
            field=models.PositiveBigIntegerField(default=0, editable=False),
        ),
        migrations.AlterField(
            model_name='camera',
            name='status',
            field=models.CharField(choices=[('stopped', 'Stopped'), ('starting', 'Starting'), ('running', 'Running'), ('reconnecting', 'Reconnecting'), ('recovering', 'Recovering'), ('error', 'Error'), ('finished', 'Finished')], db_index=True, default='stopped', max_length=16),
        ),
    ]
