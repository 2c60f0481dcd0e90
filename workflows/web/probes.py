"""Endpoints for machines: `/healthz` for load balancers (database, Redis and workers, 200 or 503)
and `/metrics` for Prometheus."""

import hmac

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from workflows.execution.state import StateUnavailable, get_store
from workflows.execution.workers import Worker
from workflows.metrics import prometheus


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure is the answer
        return f"error: {type(exc).__name__}"
    return "ok"


def check_redis() -> str:
    if settings.EMBEDDED:
        return "not used (embedded mode)"
    try:
        get_store().ping()
    except StateUnavailable as exc:
        return f"error: {exc}"
    return "ok"


@never_cache
@require_GET
def healthz(request):
    database = check_database()
    redis = check_redis()
    workers = {"online": None, "lost": None}
    if database == "ok":
        workers = {"online": Worker.objects.online().count(), "lost": Worker.objects.lost().count()}
    healthy = database == "ok" and not redis.startswith("error") and bool(workers["online"])
    return JsonResponse(
        {"status": "ok" if healthy else "failing", "database": database, "redis": redis, "workers": workers},
        status=200 if healthy else 503,
    )


# --- /metrics ---------------------------------------------------------------------


def has_token(request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def refusal(request) -> HttpResponse | None:
    """Why this caller may not scrape, as the response to send; None when they may.

    The text names every team's workflows, so it is not for anyone: the
    token's bearer (Prometheus), staff (who see every team anyway), or anyone
    with DEBUG on (`make run`). With DEBUG off and no token set, a 403 says
    what to set, rather than an answer with fewer labels that would leave
    dashboards silently empty.
    """
    token = settings.OAWEB_METRICS_TOKEN
    if (token and has_token(request, token)) or request.user.is_staff:
        return None
    if token:
        response = HttpResponse("a valid bearer token is required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if settings.DEBUG:
        return None
    return HttpResponse(
        "/metrics names every team's workflows: set OAWEB_METRICS_TOKEN and scrape with that bearer token\n",
        status=403,
        content_type="text/plain",
    )


@never_cache
@require_GET
def prometheus_metrics(request):
    refused = refusal(request)
    if refused is not None:
        return refused
    return HttpResponse(prometheus.exposition(), content_type=CONTENT_TYPE_LATEST)
