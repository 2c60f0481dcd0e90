"""What starts a run without a person: cron schedules and webhook triggers.

Both belong to a workflow, so ownership follows it: a user manages the
schedules and webhooks of their teams' workflows; staff manage all.

A Schedule is fired by Celery beat through a django-celery-beat PeriodicTask
that `sync()` writes explicitly (no post_save receiver); workflows/triggers/schedules.py
holds that I/O and the task. A WebhookTrigger keeps only the sha256 of its
token: the token itself is shown once, when created or rotated.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from workflows.audit.models import record
from workflows.definitions.validation import validate_inputs
from workflows.tokens import digest, new_secret
from workflows.triggers import beat
from workflows.triggers.cron import validate_cron, validate_timezone
from workflows.visibility import visible_to

TOKEN_PREFIX = "owh_"
# Enough of the token to tell triggers apart in lists; far too little to guess the rest.
TOKEN_DISPLAY_CHARS = 12


class TriggerQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The schedules or webhooks whose workflow `user` may see."""
        return visible_to(self, user, team_path="workflow__team")


# --- schedules -------------------------------------------------------------------


class Schedule(models.Model):
    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=200)
    cron = models.CharField(
        max_length=200,
        validators=[validate_cron],
        help_text="5 fields: minute hour day-of-month month day-of-week, e.g. `*/15 * * * *`",
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    inputs = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    # Written by the firing task with an UPDATE, never by save(): a firing must
    # not re-validate inputs against a version that may have changed since.
    last_fired = models.DateTimeField(null=True, blank=True)
    last_run = models.ForeignKey("workflows.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_error = models.TextField(blank=True)
    # The beat entry; written only by sync() (workflows/triggers/schedules.py).
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = TriggerQuerySet.as_manager()

    class Meta:
        ordering = ["workflow", "name", "id"]
        constraints = [models.UniqueConstraint(fields=["workflow", "name"], name="unique_schedule_name")]

    def __str__(self):
        return f"{self.name} ({self.cron}) of {self.workflow_id}"

    def save(self, *args, **kwargs):
        # A schedule that cannot run must never be stored: beat would fire it forever.
        self.full_clean()
        action = "schedule.create" if self.pk is None else "schedule.change"
        super().save(*args, **kwargs)
        record(action, self, details={"cron": self.cron, "enabled": self.enabled})  # issue 20: the audit log

    def clean(self):
        super().clean()
        if not isinstance(self.inputs, dict):
            raise ValidationError({"inputs": "inputs must be a JSON object"})
        if self.workflow_id is None:
            return  # the missing workflow is reported by the field's own validation
        version = self.workflow.latest_version()
        if version is None:
            raise ValidationError({"workflow": "the workflow has no version to run"})
        _, issues = validate_inputs(version.definition, self.inputs)
        if issues:
            raise ValidationError(
                {"inputs": [f"{issue['path'] or '/'}: {issue['message']}" for issue in issues]}, code="inputs"
            )

    def sync(self):
        """Create, update or disable this schedule's beat entry to match it."""
        return beat.sync_schedule(self)

    def delete(self, *args, **kwargs):
        record("schedule.delete", self)  # issue 20: the audit log
        beat.remove_periodic_task(self)
        return super().delete(*args, **kwargs)


# --- webhooks --------------------------------------------------------------------


class WebhookTrigger(models.Model):
    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=200, blank=True)
    # The token is a bearer secret in the URL: only its hash is kept, looked up
    # by the webhook view on every call (hence unique, which also indexes it).
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=TOKEN_DISPLAY_CHARS, editable=False)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)
    rotated = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)

    objects = TriggerQuerySet.as_manager()

    class Meta:
        ordering = ["workflow", "-created", "-id"]

    def __str__(self):
        return f"webhook {self.token_prefix}… of {self.workflow_id}"

    def save(self, *args, **kwargs):
        # Issue 20: every change is in the audit log; rotate() is the one save that writes a new token.
        if self.pk is None:
            action = "webhook.create"
        else:
            action = "webhook.rotate" if "token_hash" in (kwargs.get("update_fields") or ()) else "webhook.change"
        super().save(*args, **kwargs)
        record(action, self, details={"name": self.name, "enabled": self.enabled})

    def delete(self, *args, **kwargs):
        record("webhook.delete", self)  # issue 20: the audit log
        return super().delete(*args, **kwargs)

    def set_token(self) -> str:
        """Give this trigger a fresh token (not saved); returns it: the only time it is visible."""
        token = new_secret(TOKEN_PREFIX)
        self.token_hash = digest(token)
        self.token_prefix = token[:TOKEN_DISPLAY_CHARS]
        return token

    @classmethod
    def create(cls, workflow, user=None, name: str = "", enabled: bool = True) -> tuple["WebhookTrigger", str]:
        """A new trigger and its token (shown once)."""
        trigger = cls(workflow=workflow, name=name, enabled=enabled, created_by=user)
        token = trigger.set_token()
        trigger.save()
        return trigger, token

    def rotate(self) -> str:
        """Replace the token; the old one stops working at once. Returns the new token."""
        from django.utils import timezone

        token = self.set_token()
        self.rotated = timezone.now()
        self.save(update_fields=["token_hash", "token_prefix", "rotated"])
        return token

    @classmethod
    def for_token(cls, token: str) -> "WebhookTrigger | None":
        """The enabled trigger holding `token`, or None (unknown, disabled: the caller can't tell)."""
        if not token or not token.startswith(TOKEN_PREFIX):
            return None
        return cls.objects.select_related("workflow").filter(token_hash=digest(token), enabled=True).first()

    def url_path(self, token: str) -> str:
        return f"/hooks/{token}/"
