"""`/healthz` for load balancers: database, Redis and workers, 200 or 503."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from workflows.execution.state import StateUnavailable, get_store
from workflows.execution.workers import Worker


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
