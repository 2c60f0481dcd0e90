"""Changing alert channels and rules: once each, for the pages, the API and the admin, audited.

A refusal is an AlertRefused naming the field at fault. A webhook channel's
signing secret is made here and returned once, like an API token.
"""

import secrets

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from workflows.alerts.models import THRESHOLD_KINDS, AlertChannel, AlertRule, ChannelKind, RuleKind
from workflows.audit.models import record
from workflows.credentials import crypto

SECRET_PREFIX = "whsec_"
CHANNEL_FIELDS = ("name", "kind", "url", "recipients", "enabled")
RULE_FIELDS = ("name", "kind", "workflow", "threshold_seconds", "queue", "channel", "enabled")


class AlertRefused(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


# --- channels -----------------------------------------------------------------


def create_channel(team, user=None, **fields) -> tuple[AlertChannel, str | None]:
    """A new channel; for a webhook, also its signing secret (shown this once)."""
    channel = AlertChannel(team=team, created_by=user, **_only(fields, CHANNEL_FIELDS))
    secret = None
    if channel.kind == ChannelKind.WEBHOOK:
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        try:
            channel.set_signing_secret(secret)
        except crypto.KeyMissing as exc:
            raise AlertRefused("kind", str(exc)) from None
    _save(channel, "alert_channel.create", user)
    return channel, secret


def change_channel(channel: AlertChannel, user=None, **fields) -> AlertChannel:
    fields = _only(fields, CHANNEL_FIELDS)
    if "kind" in fields and fields["kind"] != channel.kind:
        raise AlertRefused("kind", "a channel's kind can't change: make a new channel")
    for name, value in fields.items():
        setattr(channel, name, value)
    _save(channel, "alert_channel.change", user, sorted(fields))
    return channel


def delete_channel(channel: AlertChannel, user=None) -> None:
    used_by = list(channel.rules.values_list("name", flat=True))
    if used_by:
        raise AlertRefused("channel", f"rules use this channel: {', '.join(used_by)}; change or delete them first")
    with transaction.atomic():
        record("alert_channel.delete", channel, user=user)
        channel.delete()


def check_channel(channel: AlertChannel) -> None:
    _clean(channel)
    if channel.kind in (ChannelKind.WEBHOOK, ChannelKind.SLACK) and not channel.url:
        raise AlertRefused("url", "a webhook channel needs the URL to POST to")
    if channel.kind == ChannelKind.EMAIL:
        addresses = [address.strip() for address in channel.recipients.split(",") if address.strip()]
        if not addresses:
            raise AlertRefused("recipients", "an e-mail channel needs at least one address")
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise AlertRefused("recipients", f"{address!r} is not an e-mail address") from None


# --- rules ----------------------------------------------------------------------


def create_rule(team, user=None, **fields) -> AlertRule:
    rule = AlertRule(team=team, created_by=user, **_only(fields, RULE_FIELDS))
    _save(rule, "alert_rule.create", user)
    return rule


def change_rule(rule: AlertRule, user=None, **fields) -> AlertRule:
    fields = _only(fields, RULE_FIELDS)
    for name, value in fields.items():
        setattr(rule, name, value)
    _save(rule, "alert_rule.change", user, sorted(fields))
    return rule


def delete_rule(rule: AlertRule, user=None) -> None:
    with transaction.atomic():
        record("alert_rule.delete", rule, user=user)
        rule.delete()


def check_rule(rule: AlertRule) -> None:
    _clean(rule)
    if rule.channel.team_id != rule.team_id:
        raise AlertRefused("channel", "the channel must be one of the rule's team")
    if rule.workflow_id is not None and rule.workflow.team_id != rule.team_id:
        raise AlertRefused("workflow", "the workflow must be one of the rule's team")
    if rule.kind in THRESHOLD_KINDS and not rule.threshold_seconds:
        raise AlertRefused("threshold_seconds", f"a {rule.kind} rule needs threshold_seconds (N, at least 1)")
    if rule.kind == RuleKind.NO_WORKER and rule.workflow_id is not None:
        raise AlertRefused("workflow", "a no_worker rule watches a queue, not a workflow")


# --- shared ----------------------------------------------------------------------


def _only(fields: dict, allowed) -> dict:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise AlertRefused(sorted(unknown)[0], "unknown field")
    return fields


def _clean(instance) -> None:
    try:
        instance.full_clean(exclude=["team", "created_by", "secret_ciphertext", "checked_until"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise AlertRefused(field if field != "__all__" else "name", "; ".join(messages)) from None


def _save(instance, action: str, user, changed=None) -> None:
    (check_channel if isinstance(instance, AlertChannel) else check_rule)(instance)
    details = {"kind": instance.kind} if changed is None else {"fields": changed}
    try:
        with transaction.atomic():
            instance.save()
            record(action, instance, user=user, details=details)
    except IntegrityError:
        raise AlertRefused("name", f"team {instance.team.name} already has one named {instance.name!r}") from None
