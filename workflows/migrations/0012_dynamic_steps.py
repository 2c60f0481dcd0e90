from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("workflows", "0011_workflow_archive")]

    operations = [
        # Waiting steps (issue 19): what a step waits for, and when it ends by itself.
        migrations.AddField(
            model_name="steprun",
            name="wait",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="steprun",
            name="wait_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="steprun",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("queued", "Queued"),
                    ("running", "Running"),
                    ("retrying", "Retrying"),
                    ("waiting", "Waiting"),
                    ("succeeded", "Succeeded"),
                    ("failed", "Failed"),
                    ("skipped", "Skipped"),
                    ("cancelled", "Cancelled"),
                ],
                default="pending",
                max_length=20,
            ),
        ),
        migrations.AddIndex(
            model_name="steprun",
            index=models.Index(fields=["status", "wait_until"], name="steprun_status_wait_until"),
        ),
    ]
