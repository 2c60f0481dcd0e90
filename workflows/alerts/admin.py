"""Alert channels, rules and deliveries in the admin, changed through the actions (audited).

A webhook channel's signing secret is shown once, in a message, when it is
made; deliveries are read-only (the sender writes them).
"""

from django import forms
from django.contrib import admin, messages

from workflows.alerts import actions
from workflows.alerts.models import AlertChannel, AlertDelivery, AlertRule, ChannelKind
from workflows.credentials import crypto


class CheckedForm(forms.ModelForm):
    """The actions' own checks, as form errors: what the admin saves is then never refused."""

    def _post_clean(self):
        super()._post_clean()
        instance = self.instance
        try:
            if isinstance(instance, AlertChannel):
                actions.check_channel(instance)
                if instance.pk is None and instance.kind == ChannelKind.WEBHOOK and not crypto.can_encrypt():
                    raise actions.AlertRefused("kind", str(crypto.KeyMissing()))
            elif instance.team_id is not None and instance.channel_id is not None:
                actions.check_rule(instance)
        except actions.AlertRefused as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)


class ThroughActions(admin.ModelAdmin):
    def delete_queryset(self, request, queryset):
        for instance in queryset:
            self.delete_model(request, instance)


class ChannelForm(CheckedForm):
    url = forms.URLField(required=False, max_length=2000, assume_scheme="https", help_text="webhook, slack")


@admin.register(AlertChannel)
class AlertChannelAdmin(ThroughActions):
    form = ChannelForm
    list_display = ["name", "team", "kind", "target", "enabled", "created"]
    list_filter = ["kind", "enabled", "team"]
    fields = ["team", "name", "kind", "url", "recipients", "enabled"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["team", "kind"]

    def save_model(self, request, obj, form, change):
        fields = {name: getattr(obj, name) for name in ("name", "url", "recipients", "enabled")}
        try:
            if change:
                actions.change_channel(obj, request.user, **fields)
                return
            made, secret = actions.create_channel(obj.team, request.user, kind=obj.kind, **fields)
            obj.pk = made.pk
            if secret:
                self.message_user(request, f"Signing secret of {made}: {secret} — copy it now.", messages.WARNING)
        except actions.AlertRefused as exc:
            self.message_user(request, f"Not saved: {exc.field}: {exc.message}", messages.ERROR)

    def delete_model(self, request, obj):
        try:
            actions.delete_channel(obj, request.user)
        except actions.AlertRefused as exc:
            self.message_user(request, exc.message, messages.ERROR)


@admin.register(AlertRule)
class AlertRuleAdmin(ThroughActions):
    form = CheckedForm
    list_display = ["name", "team", "kind", "workflow", "threshold_seconds", "queue", "channel", "enabled"]
    list_filter = ["kind", "enabled", "team"]
    fields = ["team", "name", "kind", "workflow", "threshold_seconds", "queue", "channel", "enabled"]
    raw_id_fields = ["workflow"]

    def save_model(self, request, obj, form, change):
        fields = {name: getattr(obj, name) for name in actions.RULE_FIELDS}
        try:
            if change:
                actions.change_rule(obj, request.user, **fields)
            else:
                obj.pk = actions.create_rule(obj.team, request.user, **fields).pk
        except actions.AlertRefused as exc:
            self.message_user(request, f"Not saved: {exc.field}: {exc.message}", messages.ERROR)

    def delete_model(self, request, obj):
        actions.delete_rule(obj, request.user)


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created", "event", "team", "channel", "rule", "run", "status", "attempts", "sent_at"]
    list_filter = ["status", "event", "team"]
    search_fields = ["key", "last_error"]
    raw_id_fields = ["run"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
