# Credentials, alerts and the audit log (issue 20). Written from `makemigrations --dry-run -v 3`,
# keeping only these models' operations.

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0012_dynamic_steps"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AlertChannel",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("webhook", "Webhook (JSON, HMAC-signed)"),
                            ("slack", "Slack-compatible incoming webhook"),
                            ("email", "E-mail"),
                        ],
                        max_length=10,
                    ),
                ),
                ("url", models.URLField(blank=True, max_length=2000)),
                ("recipients", models.CharField(blank=True, max_length=1000)),
                ("secret_ciphertext", models.TextField(blank=True, editable=False)),
                ("enabled", models.BooleanField(default=True)),
                ("created", models.DateTimeField(auto_now_add=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="alert_channels", to="workflows.team"
                    ),
                ),
            ],
            options={
                "ordering": ["team", "name"],
            },
        ),
        migrations.CreateModel(
            name="AlertRule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("run_failed", "A run failed"),
                            ("run_recovered", "A run succeeded after a failure"),
                            ("run_long", "A run ran longer than N seconds"),
                            ("step_queued_long", "A step waited in its queue longer than N seconds"),
                            ("no_worker", "No worker on a queue for N seconds"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "threshold_seconds",
                    models.PositiveIntegerField(blank=True, help_text="N, for the kinds that have one", null=True),
                ),
                (
                    "queue",
                    models.CharField(
                        blank=True, help_text="no_worker: the queue watched (default: default)", max_length=100
                    ),
                ),
                ("enabled", models.BooleanField(default=True)),
                ("checked_until", models.DateTimeField(default=django.utils.timezone.now)),
                ("created", models.DateTimeField(auto_now_add=True)),
                (
                    "channel",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="rules", to="workflows.alertchannel"
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="alert_rules", to="workflows.team"
                    ),
                ),
                (
                    "workflow",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="alert_rules",
                        to="workflows.workflow",
                    ),
                ),
            ],
            options={
                "ordering": ["team", "name"],
            },
        ),
        migrations.CreateModel(
            name="AlertDelivery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=200, unique=True)),
                ("event", models.CharField(max_length=40)),
                ("payload", models.JSONField(default=dict)),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed")],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("next_attempt_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("response_status", models.PositiveIntegerField(blank=True, null=True)),
                ("response_body", models.TextField(blank=True)),
                ("last_error", models.TextField(blank=True)),
                ("created", models.DateTimeField(auto_now_add=True)),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                (
                    "channel",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deliveries",
                        to="workflows.alertchannel",
                    ),
                ),
                (
                    "run",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="workflows.run",
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="workflows.team"
                    ),
                ),
                (
                    "rule",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="deliveries",
                        to="workflows.alertrule",
                    ),
                ),
            ],
            options={
                "ordering": ["-created", "-id"],
            },
        ),
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(auto_now_add=True)),
                (
                    "actor",
                    models.CharField(
                        help_text="who acted, as it read then: a user name, a token, `system`", max_length=200
                    ),
                ),
                (
                    "via",
                    models.CharField(
                        blank=True, help_text="api, web, admin, or empty (CLI, beat, a worker)", max_length=10
                    ),
                ),
                (
                    "action",
                    models.CharField(
                        help_text="one of ACTIONS (not choices: a new action needs no migration)", max_length=40
                    ),
                ),
                ("target_type", models.CharField(max_length=40)),
                ("target_id", models.CharField(blank=True, max_length=64)),
                ("target_label", models.CharField(blank=True, max_length=300)),
                ("details", models.JSONField(blank=True, default=dict)),
                (
                    "team",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="workflows.team",
                    ),
                ),
                (
                    "token",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to="workflows.apitoken"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "ordering": ["-at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="Credential",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "name",
                    models.CharField(
                        help_text="what steps write in `{{ secrets.NAME }}`",
                        max_length=100,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[A-Za-z0-9_-]+$", "letters, digits, `_` and `-` only"
                            )
                        ],
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("bearer", "HTTP bearer token"),
                            ("basic", "HTTP basic auth"),
                            ("header", "API key header"),
                            ("openai", "OpenAI-compatible endpoint"),
                            ("secret", "Secret value"),
                        ],
                        max_length=20,
                    ),
                ),
                ("description", models.CharField(blank=True, max_length=300)),
                ("ciphertext", models.TextField(editable=False)),
                ("created", models.DateTimeField(auto_now_add=True)),
                ("rotated", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="credentials", to="workflows.team"
                    ),
                ),
            ],
            options={
                "ordering": ["team", "name"],
            },
        ),
        migrations.AddConstraint(
            model_name="alertchannel",
            constraint=models.UniqueConstraint(fields=("team", "name"), name="unique_alert_channel_name"),
        ),
        migrations.AddConstraint(
            model_name="alertrule",
            constraint=models.UniqueConstraint(fields=("team", "name"), name="unique_alert_rule_name"),
        ),
        migrations.AddIndex(
            model_name="alertdelivery",
            index=models.Index(fields=["status", "next_attempt_at"], name="alertdelivery_due"),
        ),
        migrations.AddIndex(
            model_name="alertdelivery",
            index=models.Index(fields=["team", "-created"], name="alertdelivery_team_created"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["team", "-at"], name="audit_team_at"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["user", "-at"], name="audit_user_at"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["action", "-at"], name="audit_action_at"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["-at"], name="audit_at"),
        ),
        migrations.AddConstraint(
            model_name="credential",
            constraint=models.UniqueConstraint(fields=("team", "name"), name="unique_credential_name"),
        ),
    ]
