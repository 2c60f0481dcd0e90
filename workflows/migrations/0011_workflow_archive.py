from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("workflows", "0010_step_logs")]

    operations = [
        migrations.AddField(
            model_name="workflow",
            name="archived_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
