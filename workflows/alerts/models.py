"""Alert channels, the rules that use them, and each delivery (an outbox row, sent off the step path).

A delivery is written by the heartbeat's evaluation (evaluation.py), never
by a step: its `key` (rule and run, or rule and incident) is unique, so an
event alerts once however many processes look at it. The sender
(delivery.py) claims a due one with a conditional UPDATE and records how it
went; a failure is retried later with backoff (`next_attempt_at`).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from workflows.credentials import crypto
from workflows.visibility import visible_to


class TeamScoped(models.QuerySet):
    def visible_to(self, user):
        return visible_to(self, user)


class ChannelKind(models.TextChoices):
    WEBHOOK = "webhook", "Webhook (JSON, HMAC-signed)"
    SLACK = "slack", "Slack-compatible incoming webhook"
    EMAIL = "email", "E-mail"


class AlertChannel(models.Model):
    team = models.ForeignKey("workflows.Team", on_delete=models.CASCADE, related_name="alert_channels")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    # webhook and slack: where to POST. A Slack URL is itself a secret: lists show its origin only.
    url = models.URLField(max_length=2000, blank=True)
    # email: comma-separated addresses.
    recipients = models.CharField(max_length=1000, blank=True)
    # webhook: the HMAC-SHA256 signing secret, encrypted (credentials/crypto.py); shown once, at creation.
    secret_ciphertext = models.TextField(blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)

    objects = TeamScoped.as_manager()

    class Meta:
        ordering = ["team", "name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="unique_alert_channel_name")]

    def __str__(self):
        return f"{self.name} ({self.kind})"

    def signing_secret(self) -> str:
        return crypto.decrypt(self.secret_ciphertext)["secret"] if self.secret_ciphertext else ""

    def set_signing_secret(self, secret: str) -> None:
        self.secret_ciphertext = crypto.encrypt({"secret": secret})

    @property
    def target(self) -> str:
        """Where it sends, as lists show it: an URL's origin only (its path may be a secret), or the addresses."""
        if self.kind == ChannelKind.EMAIL:
            return self.recipients
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}/…" if rest else ""


class RuleKind(models.TextChoices):
    RUN_FAILED = "run_failed", "A run failed"
    RUN_RECOVERED = "run_recovered", "A run succeeded after a failure"
    RUN_LONG = "run_long", "A run ran longer than N seconds"
    STEP_QUEUED_LONG = "step_queued_long", "A step waited in its queue longer than N seconds"
    NO_WORKER = "no_worker", "No worker on a queue for N seconds"


THRESHOLD_KINDS = (RuleKind.RUN_LONG, RuleKind.STEP_QUEUED_LONG, RuleKind.NO_WORKER)


class AlertRule(models.Model):
    team = models.ForeignKey("workflows.Team", on_delete=models.CASCADE, related_name="alert_rules")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=RuleKind.choices)
    # None: every workflow of the team (not used by no_worker).
    workflow = models.ForeignKey(
        "workflows.Workflow", null=True, blank=True, on_delete=models.CASCADE, related_name="alert_rules"
    )
    threshold_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="N, for the kinds that have one")
    queue = models.CharField(max_length=100, blank=True, help_text="no_worker: the queue watched (default: default)")
    # PROTECT: a channel in use is not deleted under its rules' feet (actions.py says which rules use it).
    channel = models.ForeignKey(AlertChannel, on_delete=models.PROTECT, related_name="rules")
    enabled = models.BooleanField(default=True)
    # The run-based kinds have looked at runs finished up to here (evaluation.py's watermark).
    checked_until = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)

    objects = TeamScoped.as_manager()

    class Meta:
        ordering = ["team", "name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="unique_alert_rule_name")]

    def __str__(self):
        return f"{self.name} ({self.kind})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # due at next_attempt_at (a first try, or a retry)
    SENT = "sent"
    FAILED = "failed"  # every attempt failed: given up


class DeliveryQuerySet(models.QuerySet):
    def visible_to(self, user):
        return visible_to(self, user)


class AlertDelivery(models.Model):
    team = models.ForeignKey("workflows.Team", on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries")
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="deliveries")
    # What it is about: "rule:3:run:12", "rule:4:queue:io:<since>", "approval:…". Unique: one alert per event.
    key = models.CharField(max_length=200, unique=True)
    event = models.CharField(max_length=40)
    run = models.ForeignKey("workflows.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            # The sender: pending deliveries that are due.
            models.Index(fields=["status", "next_attempt_at"], name="alertdelivery_due"),
            # The deliveries page and API: a team's newest first.
            models.Index(fields=["team", "-created"], name="alertdelivery_team_created"),
        ]

    def __str__(self):
        return f"{self.event} to {self.channel_id} ({self.status})"
