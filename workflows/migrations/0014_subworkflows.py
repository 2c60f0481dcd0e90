import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("workflows", "0013_credentials_alerts_audit")]

    operations = [
        # Sub-workflows (issue 19): a child run points at the step waiting for it.
        migrations.AddField(
            model_name="run",
            name="parent_step",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="child_runs",
                to="workflows.steprun",
            ),
        ),
        migrations.AddField(
            model_name="run",
            name="depth",
            field=models.PositiveSmallIntegerField(db_default=0, default=0),
        ),
        migrations.AlterField(
            model_name="run",
            name="trigger",
            field=models.CharField(
                choices=[
                    ("manual", "manual"),
                    ("cli", "cli"),
                    ("api", "api"),
                    ("schedule", "schedule"),
                    ("webhook", "webhook"),
                    ("rerun", "rerun"),
                    ("workflow", "workflow"),
                ],
                default="manual",
                max_length=20,
            ),
        ),
    ]
