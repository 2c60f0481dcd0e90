"""POST /hooks/<token>/: start a run of the token's workflow with the JSON body as inputs.

POST /hooks/<token>/runs/<id>/events/<name>/: post an event to a run of the token's
workflow (issue 19): a core.wait_for_event step waiting for it ends with the JSON
body as its payload, or the event is kept for the first step that will wait for
it (services.post_event). For a service calling back without an API token: the
workflow hands out this URL (its run's id in it) to the service it waits for.

The token is the only credential, so guessing must be slow: every unknown
(or disabled) token counts a miss against the client's IP in the cache, and an
IP over OAWEB_WEBHOOK_MAX_MISSES misses in OAWEB_WEBHOOK_MISS_WINDOW seconds
gets 429 for every token, valid or not, until the window ends (a valid token
still working would tell a guesser when they hit). Unknown and disabled
tokens both get the same 404.

With Redis unreachable nothing can start a run: a call answers 503 with
Retry-After (workflows/outages.py). When the miss counts are in Redis too
(not with Sentinel: then the cache is per process), that 503 comes before
the token is looked up, so an outage doesn't tell a guesser a hit either.
"""

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from workflows import outages, services
from workflows.definitions.strict_json import BodyError, read_json
from workflows.execution import idempotency
from workflows.execution import runs as engine
from workflows.execution.models import Run
from workflows.execution.state import StateUnavailable
from workflows.triggers.models import WebhookTrigger


def error(status: int, code: str, detail: str, **extra) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code, **extra}, status=status)


# --- wrong-token rate limit ---------------------------------------------------------


def max_misses() -> int:
    return settings.OAWEB_WEBHOOK_MAX_MISSES


def miss_window() -> int:
    return settings.OAWEB_WEBHOOK_MISS_WINDOW


def client_ip(request) -> str:
    # REMOTE_ADDR only: a forwarded-for header is the client's to forge. Behind
    # a proxy, the proxy must set REMOTE_ADDR (e.g. daphne --proxy-headers).
    return request.META.get("REMOTE_ADDR") or "unknown"


def misses_key(ip: str) -> str:
    return f"oaweb:webhook-misses:{ip}"


def is_blocked(ip: str) -> bool:
    return (cache.get(misses_key(ip)) or 0) >= max_misses()


def record_miss(ip: str) -> None:
    key = misses_key(ip)
    # add() starts the window (its expiry); incr() keeps that expiry.
    if cache.add(key, 1, timeout=miss_window()):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=miss_window())


# --- body ------------------------------------------------------------------------


def read_inputs(request) -> dict:
    """The request's JSON body as run inputs (blank: none); raises BodyError (413 or 400) naming the problem."""
    body = read_json(request, request.META.get("CONTENT_LENGTH"), empty={})
    if not isinstance(body, dict):
        raise BodyError(400, "invalid_inputs", "the body must be a JSON object: the run's inputs by name")
    return body


# --- the view --------------------------------------------------------------------


def trigger_or_refusal(request, token: str) -> tuple[WebhookTrigger | None, JsonResponse | None]:
    """The enabled trigger holding `token`, or the answer refusing the call (429 while blocked, 404)."""
    ip = client_ip(request)
    if is_blocked(ip):
        response = error(429, "throttled", "too many requests with unknown webhook tokens; try again later")
        response["Retry-After"] = str(miss_window())
        return None, response
    trigger = WebhookTrigger.for_token(token)
    if trigger is None:
        record_miss(ip)
        return None, error(404, "not_found", "no such webhook")
    return trigger, None


@csrf_exempt
@require_POST
def receive(request, token: str):
    trigger, refusal = trigger_or_refusal(request, token)
    if refusal is not None:
        return refusal
    try:
        inputs = read_inputs(request)
        key = idempotency.read_key(request.headers.get("Idempotency-Key"))
    except BodyError as exc:
        where = {"pointer": exc.pointer} if exc.pointer is not None else {}
        return error(exc.status, exc.code, exc.detail, **where)
    except idempotency.BadKey as exc:
        return error(400, "invalid_idempotency_key", str(exc))

    def start():
        return services.start(trigger.workflow, inputs, user=trigger.created_by, trigger="webhook")

    try:
        run, replayed = idempotency.start_once(f"webhook:{trigger.pk}", key, inputs, start)
    except engine.WorkflowArchived as exc:  # issue 18: not the caller's inputs' fault
        return error(409, "archived", str(exc))
    except engine.RunRefused as exc:
        return error(400, "invalid_inputs", str(exc), issues=exc.issues)
    except idempotency.KeyReused as exc:
        return error(422, "idempotency_key_reused", str(exc))
    except StateUnavailable:
        response = error(503, "unavailable", "the run-state store is unavailable; nothing was started, retry later")
        response["Retry-After"] = str(outages.RETRY_AFTER_SECONDS)
        return response
    WebhookTrigger.objects.filter(pk=trigger.pk).update(last_used=timezone.now())
    response = JsonResponse(
        {"run": run.pk, "status": run.status, "workflow": trigger.workflow.slug, "version": run.version.version},
        status=202,
    )
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@csrf_exempt
@require_POST
def receive_event(request, token: str, run_id: int, name: str):
    trigger, refusal = trigger_or_refusal(request, token)
    if refusal is not None:
        return refusal
    run = Run.objects.filter(pk=run_id, workflow_id=trigger.workflow_id).first()
    if run is None:  # the token speaks for its own workflow's runs only
        return error(404, "not_found", f"no run {run_id} of workflow {trigger.workflow.slug}")
    try:
        payload = read_json(request, request.META.get("CONTENT_LENGTH"), empty={})
        delivered, kept = services.post_event(run, name, payload)
    except BodyError as exc:
        where = {"pointer": exc.pointer} if exc.pointer is not None else {}
        return error(exc.status, exc.code, exc.detail, **where)
    except services.WaitRefused as refused:
        return error(409, "conflict", str(refused))
    WebhookTrigger.objects.filter(pk=trigger.pk).update(last_used=timezone.now())
    return JsonResponse({"run": run.pk, "event": name, "delivered": delivered, "kept": kept}, status=202)


urlpatterns = [
    path("<str:token>/", receive, name="webhook"),
    path("<str:token>/runs/<int:run_id>/events/<str:name>/", receive_event, name="webhook-event"),
]
