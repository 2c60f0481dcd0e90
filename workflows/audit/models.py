"""AuditEvent: one append-only row per action people (or their tokens) take, written by the action itself.

    record(action, target, team=None, user=None, details=None) -> AuditEvent

Called by the functions that do the actions (workflows/services.py, the
credentials' and alerts' actions, tokens, webhooks and schedules; approvals
with issue 19), inside their transaction when they have one, so an action
rolled back leaves no row. Who acted: the `user` given, else the user of the
request being served (context.py); an API call also records its token.
Nothing updates or deletes a row: `save` refuses an existing one, the
queryset's `update` and `delete` refuse, and the admin is read-only.
"""

from django.conf import settings
from django.db import models

from workflows.audit.context import actor_from_request

ACTIONS = {
    "workflow.save": "saved a definition",
    "run.start": "started a run",
    "run.cancel": "cancelled a run",
    "run.rerun": "re-ran a run",
    "run.approve": "approved a step",
    "run.reject": "rejected a step",
    "token.create": "issued an API token",
    "token.revoke": "revoked an API token",
    "webhook.create": "created a webhook",
    "webhook.rotate": "rotated a webhook's token",
    "webhook.change": "changed a webhook",
    "webhook.delete": "deleted a webhook",
    "schedule.create": "created a schedule",
    "schedule.change": "changed a schedule",
    "schedule.delete": "deleted a schedule",
    "credential.create": "created a credential",
    "credential.rotate": "rotated a credential",
    "credential.delete": "deleted a credential",
    "alert_channel.create": "created an alert channel",
    "alert_channel.change": "changed an alert channel",
    "alert_channel.delete": "deleted an alert channel",
    "alert_rule.create": "created an alert rule",
    "alert_rule.change": "changed an alert rule",
    "alert_rule.delete": "deleted an alert rule",
}


class AppendOnly(Exception):
    """An audit row can't be changed or deleted."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("audit events are never updated")

    def delete(self):
        raise AppendOnly("audit events are never deleted")

    def visible_to(self, user):
        """Staff: all. Others: their teams' events and their own (their tokens have no team)."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_staff:
            return self
        return self.filter(models.Q(team__members=user) | models.Q(user=user)).distinct()


class AuditEvent(models.Model):
    at = models.DateTimeField(auto_now_add=True)
    # Kept when the team, user or token goes: the labels say who and what it was.
    team = models.ForeignKey("workflows.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    token = models.ForeignKey("workflows.ApiToken", null=True, blank=True, on_delete=models.SET_NULL)
    actor = models.CharField(max_length=200, help_text="who acted, as it read then: a user name, a token, `system`")
    via = models.CharField(max_length=10, blank=True, help_text="api, web, admin, or empty (CLI, beat, a worker)")
    action = models.CharField(max_length=40, help_text="one of ACTIONS (not choices: a new action needs no migration)")
    target_type = models.CharField(max_length=40)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # The audit page and API: newest first, filtered by team, user or action.
            models.Index(fields=["team", "-at"], name="audit_team_at"),
            models.Index(fields=["user", "-at"], name="audit_user_at"),
            models.Index(fields=["action", "-at"], name="audit_action_at"),
            models.Index(fields=["-at"], name="audit_at"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target_type} {self.target_label}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnly("audit events are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("audit events are never deleted")

    @property
    def description(self) -> str:
        return ACTIONS.get(self.action, self.action)


def team_of(target):
    """The team a target belongs to: its own, or its workflow's (schedules, webhooks, runs)."""
    team_id = getattr(target, "team_id", None)
    if team_id is None and getattr(target, "workflow_id", None) is not None:
        team_id = target.workflow.team_id
    return team_id


def record(action: str, target=None, *, team=None, user=None, details: dict | None = None, label: str = ""):
    """Append one event: `user` (else the request's) did `action` to `target` (a model instance, or None).

    team: a Team or its id; by default the target's (team_of). The target is
    recorded by type, id and label (its str, or `label`), so the row still
    reads right once the object is gone.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    request_user, token, via = actor_from_request()
    user = user if user is not None and getattr(user, "is_authenticated", False) else request_user
    if token is not None and (user is None or token.user_id != user.pk):
        token = None  # a token acts for its own user only
    team_id = getattr(team, "pk", team) if team is not None else (team_of(target) if target is not None else None)
    return AuditEvent.objects.create(
        team_id=team_id,
        user=user,
        token=token,
        actor=actor_label(user, token),
        via=via,
        action=action,
        target_type=target._meta.model_name if target is not None else "",
        target_id=str(target.pk) if target is not None and target.pk is not None else "",
        target_label=(label or (str(target) if target is not None else ""))[:300],
        details=details or {},
    )


def actor_label(user, token) -> str:
    if user is None:
        return "system"
    name = user.get_username()
    return f"{name} (token {token.prefix}…)" if token is not None else name
