"""The schedules and webhooks panel of a workflow, which its detail page loads.

Every change goes through what the API does (workflows/api/trigger_views.py): its
serializers validate (they run Schedule.full_clean, the one place the cron,
time zone and inputs rules live), `Schedule.sync()` keeps the Celery beat
entry in step, `WebhookTrigger.create()/rotate()` make tokens. Nothing here is
a second copy of a rule.

An htmx request gets the panel fragment back (errors in it, status 400);
a plain form post is redirected to the workflow's page with a message, except
when a webhook URL must be shown: its token exists only in this response, so
the page is rendered directly, never stored in the session or a URL.
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from workflows.api.trigger_views import ScheduleSerializer, WebhookSerializer
from workflows.definitions import strict_json
from workflows.triggers.models import Schedule, WebhookTrigger
from workflows.web.access import get_workflow_for
from workflows.web.token_pages import form_errors

PANEL = "workflows/_triggers.html"
PAGE = "triggers/page.html"
SCHEDULE_ACTIONS = ("pause", "resume", "delete")
WEBHOOK_ACTIONS = ("enable", "disable", "rotate", "delete")


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def get_schedule_in(user, workflow, schedule_id) -> Schedule:
    """A schedule of this workflow the user may manage, else 404 (another workflow's id too)."""
    return get_object_or_404(Schedule.objects.visible_to(user).filter(workflow=workflow), pk=schedule_id)


def get_webhook_in(user, workflow, webhook_id) -> WebhookTrigger:
    """A webhook of this workflow the user may manage, else 404 (another workflow's id too)."""
    return get_object_or_404(WebhookTrigger.objects.visible_to(user).filter(workflow=workflow), pk=webhook_id)


def next_fire(schedule: Schedule, now=None):
    """When beat will next fire `schedule`, from the crontab beat itself evaluates; None if paused or unsynced."""
    task = schedule.periodic_task
    if not schedule.enabled or task is None or not task.enabled or task.crontab is None:
        return None
    crontab = task.crontab.schedule  # django-celery-beat's TzAwareCrontab, in the schedule's time zone
    start, delta, _ = crontab.remaining_delta((now or timezone.now()).astimezone(crontab.tz))
    return start + delta


def parse_inputs(text: str):
    """The inputs box as JSON (blank: no inputs). Whether they fit the workflow is the model's to say."""
    if not text.strip():
        return {}
    try:
        return strict_json.loads(text)
    except strict_json.Refused as refused:
        raise ValueError(f"inputs: {refused}") from None
    except ValueError as exc:
        raise ValueError(f"inputs: not valid JSON ({exc})") from None


# --- rendering -----------------------------------------------------------------------


def panel_context(request, workflow, **extra) -> dict:
    now = timezone.now()
    schedules = list(workflow.schedules.select_related("periodic_task__crontab"))
    for schedule in schedules:
        schedule.next_fire = next_fire(schedule, now)
        schedule.inputs_json = json.dumps(schedule.inputs, sort_keys=True)
    context = {
        "nav": "workflows",
        "workflow": workflow,
        "schedules": schedules,
        "webhooks": workflow.webhooks.all(),
        "schedule_form": {"name": "", "cron": "", "timezone": "UTC", "inputs": "{}", "enabled": True},
        "schedule_errors": [],
        "webhook_form": {"name": ""},
        "webhook_errors": [],
        "notice": "",
        "reveal": None,
    }
    context.update(extra)
    return context


def show(request, workflow, status=200, **extra):
    """The panel (htmx) or the page holding it."""
    template = PANEL if is_htmx(request) else PAGE
    response = render(request, template, panel_context(request, workflow, **extra), status=status)
    patch_vary_headers(response, ["HX-Request"])  # one URL, two bodies: caches must tell them apart
    return response


def done(request, workflow, notice: str):
    if is_htmx(request):
        return show(request, workflow, notice=notice)
    messages.success(request, notice)
    return redirect("workflow-detail", slug=workflow.slug)


def reveal(request, workflow, webhook: WebhookTrigger, token: str, notice: str):
    """The webhook's URL with its token: shown in this response and nowhere else, ever."""
    url = request.build_absolute_uri(webhook.url_path(token))
    return show(request, workflow, notice=notice, reveal={"webhook": webhook, "url": url})


# --- views ---------------------------------------------------------------------------


@login_required
@require_GET
def trigger_panel(request, slug):
    return show(request, get_workflow_for(request.user, slug))


@login_required
@require_POST
def schedule_create(request, slug):
    workflow = get_workflow_for(request.user, slug)
    form = {
        "name": request.POST.get("name", "").strip(),
        "cron": request.POST.get("cron", "").strip(),
        "timezone": request.POST.get("timezone", "").strip() or "UTC",
        "inputs": request.POST.get("inputs", ""),
        "enabled": "enabled" in request.POST,
    }
    try:
        inputs = parse_inputs(form["inputs"])
    except ValueError as exc:
        return show(request, workflow, status=400, schedule_form=form, schedule_errors=[str(exc)])
    serializer = ScheduleSerializer(
        data={**form, "workflow": workflow.slug, "inputs": inputs}, context={"request": request}
    )
    if not serializer.is_valid():
        return show(request, workflow, status=400, schedule_form=form, schedule_errors=form_errors(serializer.errors))
    with transaction.atomic():  # as ScheduleViewSet.perform_create: the row and its beat entry together
        schedule = serializer.save(created_by=request.user)
        schedule.sync()
    return done(request, workflow, f"Schedule “{schedule.name}” created.")


@login_required
@require_POST
def schedule_change(request, slug, schedule_id):
    workflow = get_workflow_for(request.user, slug)
    schedule = get_schedule_in(request.user, workflow, schedule_id)
    action = request.POST.get("action")
    if action not in SCHEDULE_ACTIONS:
        errors = [f"unknown action; expected one of {', '.join(SCHEDULE_ACTIONS)}"]
        return show(request, workflow, status=400, schedule_errors=errors)
    if action == "delete":
        with transaction.atomic():  # as ScheduleViewSet.perform_destroy: Schedule.delete() drops the beat entry
            schedule.delete()
        return done(request, workflow, f"Schedule “{schedule.name}” deleted.")
    # A PATCH of `enabled`, as the API does it: revalidated, then beat follows.
    serializer = ScheduleSerializer(
        schedule, data={"enabled": action == "resume"}, partial=True, context={"request": request}
    )
    if not serializer.is_valid():
        errors = [f"cannot {action} “{schedule.name}”: {line}" for line in form_errors(serializer.errors)]
        return show(request, workflow, status=400, schedule_errors=errors)
    with transaction.atomic():  # as ScheduleViewSet.perform_update
        serializer.save().sync()
    return done(request, workflow, f"Schedule “{schedule.name}” {'resumed' if action == 'resume' else 'paused'}.")


@never_cache  # the answer may carry the webhook's token
@login_required
@require_POST
def webhook_create(request, slug):
    workflow = get_workflow_for(request.user, slug)
    form = {"name": request.POST.get("name", "").strip()}
    serializer = WebhookSerializer(data={**form, "workflow": workflow.slug}, context={"request": request})
    if not serializer.is_valid():
        return show(request, workflow, status=400, webhook_form=form, webhook_errors=form_errors(serializer.errors))
    webhook, token = WebhookTrigger.create(user=request.user, **serializer.validated_data)
    return reveal(request, workflow, webhook, token, f"Webhook “{webhook.name or webhook.token_prefix}” created.")


@never_cache  # the answer may carry the webhook's new token
@login_required
@require_POST
def webhook_change(request, slug, webhook_id):
    workflow = get_workflow_for(request.user, slug)
    webhook = get_webhook_in(request.user, workflow, webhook_id)
    label = webhook.name or webhook.token_prefix
    action = request.POST.get("action")
    if action not in WEBHOOK_ACTIONS:
        errors = [f"unknown action; expected one of {', '.join(WEBHOOK_ACTIONS)}"]
        return show(request, workflow, status=400, webhook_errors=errors)
    if action == "rotate":
        token = webhook.rotate()
        return reveal(
            request, workflow, webhook, token, f"Webhook “{label}” has a new URL; the old one stopped working."
        )
    if action == "delete":
        webhook.delete()
        return done(request, workflow, f"Webhook “{label}” deleted.")
    # A PATCH of `enabled`, as the API does it.
    serializer = WebhookSerializer(
        webhook, data={"enabled": action == "enable"}, partial=True, context={"request": request}
    )
    if not serializer.is_valid():
        return show(request, workflow, status=400, webhook_errors=form_errors(serializer.errors))
    serializer.save()
    return done(request, workflow, f"Webhook “{label}” {action}d.")
