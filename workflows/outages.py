"""A service oaweb needs being unreachable, answered as an outage (503, Retry-After), not as a bug (500).

`is_outage(exc)` is the one place that knows which exceptions mean "Redis is
down" or "the database is down"; the API's exception handler
(workflows/api/errors.py), `OutageMiddleware` (every other request: pages,
webhooks, and errors raised outside DRF views, in a middleware) and the CLI
(run_workflow) all ask it. Requests that don't need the missing
service don't fail at all: the API throttle falls back to a per-process
limit, and pages that only read the database render as usual.
"""

import logging
import math
import sys
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import redis
from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from kombu.exceptions import OperationalError as BrokerError

from workflows.execution.state import StateUnavailable

log = logging.getLogger(__name__)

REDIS = "redis"
DATABASE = "database"
# A Redis restart or a PostgreSQL or Sentinel failover takes seconds to tens
# of seconds: clients told 10 s neither hammer a recovering service nor wait
# long after a short blip.
RETRY_AFTER_SECONDS = 10
# Paths whose clients are programs: they get JSON, people get a page.
JSON_PATHS = ("/api/", "/hooks/")
# How far down __cause__/__context__ to look: libraries wrap each other's errors a few times at most.
CHAIN_DEPTH = 8


# redis's ConnectionError covers refused, reset, failed authentication and "loading the
# dataset"; kombu's OperationalError is Celery failing to publish to the broker;
# StateUnavailable is the run-state store's own (workflows/execution/state.py).
REDIS_ERRORS = (StateUnavailable, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, BrokerError)
DATABASE_ERRORS = (OperationalError, InterfaceError)


def is_outage(exc: BaseException | None) -> str | None:
    """REDIS or DATABASE when `exc` (or an error it wraps) means that service is unreachable, else None.

    Django's OperationalError is wider than "unreachable" (a lock timeout, a
    failover in progress, SQLite busy): all of them are the database not
    serving now, which a client should retry, so all of them count.
    """
    for _ in range(CHAIN_DEPTH):
        if exc is None:
            return None
        if isinstance(exc, REDIS_ERRORS):
            return REDIS
        if isinstance(exc, DATABASE_ERRORS):
            return DATABASE
        # `raise X from None` translated the error on purpose (a view's own 503, a 400): respect it.
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return None


# --- what to say ---------------------------------------------------------------------------


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


def describe(service: str) -> str:
    """The service and where it is, for operators (the CLI); never a password."""
    if service == REDIS:
        if settings.REDIS_SENTINELS:
            sentinels = ",".join(f"{host}:{port}" for host, port in settings.REDIS_SENTINELS)
            return f"Redis (master {settings.REDIS_SENTINEL_MASTER} of Sentinels {sentinels})"
        return f"Redis at {_without_password(settings.REDIS_URL)}"
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"the database at {db['NAME']}"
    return f"the database at {db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}/{db['NAME']}"


NAMES = {REDIS: "Redis", DATABASE: "the database"}


def detail(service: str) -> str:
    """What a client is told: which service, and that retrying is right (not where it is: that's ours)."""
    return f"{NAMES[service]} is unreachable; retry later"


# At most one log line per service in this many seconds: an outage fails
# every request, and a line for each would bury everything else (Django's
# request log still has one line per 503).
NOTE_EVERY_SECONDS = 10
_noted: dict[str, float] = {}
_noted_lock = threading.Lock()


def note(service: str, exc: BaseException, where: str) -> None:
    """Log that `service` is unreachable, as seen at `where`, once in a while."""
    now = time.monotonic()
    with _noted_lock:
        if now - _noted.get(service, -math.inf) < NOTE_EVERY_SECONDS:
            return
        _noted[service] = now
    log.warning("%s is unreachable (%s: %s), seen at %s", NAMES[service], type(exc).__name__, exc, where)


# --- HTTP ------------------------------------------------------------------------------------


def json_response(service: str) -> JsonResponse:
    response = JsonResponse({"detail": detail(service), "code": "unavailable"}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def page_response(service: str) -> HttpResponse:
    # Rendered without the request: its context processors would read the
    # session and the user, from the database that may be what is down.
    body = loader.get_template("503.html").render({"service": NAMES[service], "retry_after": RETRY_AFTER_SECONDS})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def response_for(request, service: str) -> HttpResponse:
    return json_response(service) if request.path.startswith(JSON_PATHS) else page_response(service)


def where(request) -> str:
    # A webhook's path is its secret token: never in the logs.
    return "/hooks/<token>/" if request.path.startswith("/hooks/") else request.path


def _mark_request(sender, request=None, **kwargs) -> None:
    """got_request_exception: remember on the request that what failed it was an outage.

    Django turns an exception raised in a middleware into a 500 response
    right where it is raised, so the middleware around it never sees the
    exception; this signal does, with the exception being handled.
    """
    exc = sys.exc_info()[1]
    service = is_outage(exc)
    if request is not None and service is not None:
        request.oaweb_outage = service
        note(service, exc, where(request))


class OutageMiddleware:
    """Answers an outage 503 (JSON for /api/ and /hooks/, a plain page elsewhere) with Retry-After.

    Most outages surface in a view, where the session and the user are
    first read (process_exception). Placed early in MIDDLEWARE, it also
    wraps the session, auth and other middleware, in case one of them is
    what fails (the session saved on the way out, say).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        got_request_exception.connect(_mark_request, dispatch_uid="oaweb-outage")

    def __call__(self, request):
        response = self.get_response(request)
        service = getattr(request, "oaweb_outage", None)
        if service is not None and response.status_code == 500:
            return response_for(request, service)
        return response

    def process_exception(self, request, exception):
        """An outage raised by a view (or its template) that did not handle it itself."""
        service = is_outage(exception)
        if service is None:
            return None
        note(service, exception, where(request))
        return response_for(request, service)
