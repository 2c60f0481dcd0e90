"""The Alerts page: a team's channels and rules, made, paused and deleted, and the latest deliveries.

A new webhook channel's signing secret is rendered once, in the answer to
the POST that made it (never in the session or a URL), like an API token.
The rules and the audit are the actions' (actions.py), as for the API.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from workflows.alerts import actions
from workflows.alerts.models import AlertChannel, AlertDelivery, AlertRule, ChannelKind, RuleKind
from workflows.credentials.actions import CredentialRefused, team_for
from workflows.models import Team, Workflow

RECENT_DELIVERIES = 50


def get_channel_for(user, channel_id) -> AlertChannel:
    """One of the user's teams' channels (staff: any), else 404."""
    return get_object_or_404(AlertChannel.objects.visible_to(user), pk=channel_id)


def get_rule_for(user, rule_id) -> AlertRule:
    """One of the user's teams' rules (staff: any), else 404."""
    return get_object_or_404(AlertRule.objects.visible_to(user), pk=rule_id)


def page_context(request, **extra) -> dict:
    user = request.user
    teams = list(Team.objects.all() if user.is_staff else user.teams.all())
    channels = list(AlertChannel.objects.visible_to(user).select_related("team"))
    workflows = Workflow.objects.visible_to(user).active().only("slug", "name")
    return {
        "nav": "alerts",
        "channel_kinds": ChannelKind.choices,
        "rule_kinds": RuleKind.choices,
        "teams": teams,
        "channels": channels,
        "rules": AlertRule.objects.visible_to(user).select_related("team", "channel", "workflow"),
        "deliveries": AlertDelivery.objects.visible_to(user)
        .select_related("channel", "rule")
        .order_by("-created", "-id")[:RECENT_DELIVERIES],
        # The forms' choices, as the (value, label) pairs templates/_form_row.html takes.
        "team_options": [(team.name, team.name) for team in teams],
        "workflow_options": [(workflow.slug, workflow.name) for workflow in workflows],
        "channel_options": [(str(channel.pk), f"{channel.name} ({channel.team.name})") for channel in channels],
        "errors": [],
        "form": {},
        **extra,
    }


@never_cache
@login_required
@require_GET
def alert_page(request):
    return render(request, "alerts/page.html", page_context(request))


def refused(request, exc, form: dict):
    context = page_context(request, errors=[f"{exc.field}: {exc.message}"], form=form)
    return render(request, "alerts/page.html", context, status=400)


@never_cache  # the answer may carry a webhook's signing secret
@login_required
@require_POST
def channel_create(request):
    form = {key: request.POST.get(key, "").strip() for key in ("team", "name", "kind", "url", "recipients")}
    try:
        team = team_for(request.user, form["team"] or None)
        channel, secret = actions.create_channel(
            team, request.user, name=form["name"], kind=form["kind"], url=form["url"], recipients=form["recipients"]
        )
    except (actions.AlertRefused, CredentialRefused) as exc:
        return refused(request, exc, form)
    if secret is None:
        messages.success(request, f"Channel {channel.name} saved.")
        return redirect("alert-page")
    return render(request, "alerts/page.html", page_context(request, new_channel=channel, secret=secret))


@login_required
@require_POST
def channel_change(request, channel_id):
    """Pause, resume or delete a channel (`action` in the form)."""
    channel = get_channel_for(request.user, channel_id)
    action = request.POST.get("action")
    try:
        if action == "delete":
            actions.delete_channel(channel, request.user)
            messages.success(request, f"Channel {channel.name} deleted.")
        elif action in ("pause", "resume"):
            actions.change_channel(channel, request.user, enabled=action == "resume")
            messages.success(request, f"Channel {channel.name} {'resumed' if channel.enabled else 'paused'}.")
        else:
            messages.error(request, "unknown action")
    except actions.AlertRefused as exc:
        messages.error(request, exc.message)
    return redirect("alert-page")


@login_required
@require_POST
def rule_create(request):
    post = request.POST
    form = {key: post.get(key, "").strip() for key in ("team", "name", "kind", "workflow", "threshold", "queue")}
    form["channel"] = post.get("channel", "")
    try:
        team = team_for(request.user, form["team"] or None)
        workflow = None
        if form["workflow"]:
            workflow = get_object_or_404(Workflow.objects.visible_to(request.user), slug=form["workflow"])
        channel = get_channel_for(request.user, form["channel"]) if form["channel"].isdigit() else None
        if channel is None:
            raise actions.AlertRefused("channel", "choose one of the team's channels")
        threshold = int(form["threshold"]) if form["threshold"].isdigit() else None
        rule = actions.create_rule(
            team, request.user, name=form["name"], kind=form["kind"], workflow=workflow,
            threshold_seconds=threshold, queue=form["queue"], channel=channel,
        )  # fmt: skip
    except (actions.AlertRefused, CredentialRefused) as exc:
        return refused(request, exc, form)
    messages.success(request, f"Rule {rule.name} saved.")
    return redirect("alert-page")


@login_required
@require_POST
def rule_change(request, rule_id):
    """Pause, resume or delete a rule (`action` in the form)."""
    rule = get_rule_for(request.user, rule_id)
    action = request.POST.get("action")
    try:
        if action == "delete":
            actions.delete_rule(rule, request.user)
            messages.success(request, f"Rule {rule.name} deleted.")
        elif action in ("pause", "resume"):
            actions.change_rule(rule, request.user, enabled=action == "resume")
            messages.success(request, f"Rule {rule.name} {'resumed' if rule.enabled else 'paused'}.")
        else:
            messages.error(request, "unknown action")
    except actions.AlertRefused as exc:
        messages.error(request, exc.message)
    return redirect("alert-page")
