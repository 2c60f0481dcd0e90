"""Where time goes: API requests, validation, component lookups, timed in every process.

Each process adds its observations to a small in-memory histogram (fixed
buckets, a sum and a count per name and labels); that costs a lock and a
bisect, so it can sit on the step path. In distributed mode the deltas are
added to one Redis hash (HINCRBY / HINCRBYFLOAT, pipelined) at most every
FLUSH_SECONDS, by the process itself when it next observes something, by a
worker's maintenance thread, and before a scrape: /metrics then reads the
sum over every process on every machine. In embedded mode there is one
process and the totals stay in its memory. A process that dies loses at
most its last FLUSH_SECONDS of observations.
"""

import bisect
import json
import logging
import threading
import time
from contextlib import contextmanager

from django.conf import settings

from workflows.execution.state import get_store

log = logging.getLogger(__name__)

# Seconds; a value falls in the first bucket with value <= bound, else in the last one.
BOUNDS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FLUSH_SECONDS = 2.0
# After a failed flush (Redis unreachable) the next one waits this much longer.
FAILED_FLUSH_PAUSE = 30.0
REDIS_KEY = "oaweb:timings"

# name -> what it times (the Prometheus help text).
TIMINGS = {
    "api_request": "API requests (/api/), by method, route and status class",
    "validation": "Workflow validation (validate, validate_source)",
    "component_lookup": "Component registry lookups (registry.lookup.components)",
}


def _empty() -> list:
    return [0] * (len(BOUNDS) + 1) + [0.0]  # bucket counts, then the sum


class Recorder:
    def __init__(self):
        self._lock = threading.Lock()
        self._pending: dict[tuple, list] = {}
        self._totals: dict[tuple, list] = {}  # embedded mode: everything observed here
        self._flushed = time.monotonic()

    def observe(self, name: str, seconds: float, labels: tuple = ()) -> None:
        key = (name, labels)
        with self._lock:
            histogram = self._pending.get(key)
            if histogram is None:
                histogram = self._pending[key] = _empty()
            histogram[bisect.bisect_left(BOUNDS, seconds)] += 1
            histogram[-1] += seconds
            due = time.monotonic() - self._flushed >= FLUSH_SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._flushed = time.monotonic()
        if not pending:
            return
        if settings.EMBEDDED:
            with self._lock:
                for key, histogram in pending.items():
                    total = self._totals.setdefault(key, _empty())
                    for index, value in enumerate(histogram):
                        total[index] += value
            return
        try:
            pipe = get_store().client.pipeline(transaction=False)
            for (name, labels), histogram in pending.items():
                prefix = f"{name}\t{json.dumps(labels)}\t"
                for index, count in enumerate(histogram[:-1]):
                    if count:
                        pipe.hincrby(REDIS_KEY, f"{prefix}{index}", count)
                pipe.hincrbyfloat(REDIS_KEY, f"{prefix}sum", histogram[-1])
            pipe.execute()
        except Exception:  # timings are a view: never fail a request or a step over them
            # Nor slow them down: a Redis that hangs costs a socket timeout per try,
            # and with this process's requests each due to flush, each would pay it.
            with self._lock:
                self._flushed = time.monotonic() + FAILED_FLUSH_PAUSE
            log.warning("flushing timings to Redis failed; %d series dropped", len(pending), exc_info=True)

    def totals(self) -> dict[tuple, list]:
        """{(name, labels): [bucket counts..., sum]} over every process (after flushing this one)."""
        self.flush()
        if settings.EMBEDDED:
            with self._lock:
                return {key: list(value) for key, value in self._totals.items()}

        totals: dict[tuple, list] = {}
        for field, value in get_store().client.hgetall(REDIS_KEY).items():
            name, labels, slot = (field.decode() if isinstance(field, bytes) else field).split("\t")
            histogram = totals.setdefault((name, tuple(tuple(pair) for pair in json.loads(labels))), _empty())
            if slot == "sum":
                histogram[-1] = float(value)
            else:
                histogram[int(slot)] = int(value)
        return totals

    def reset(self) -> None:
        """Forget this process's numbers (tests)."""
        with self._lock:
            self._pending.clear()
            self._totals.clear()


recorder = Recorder()
observe = recorder.observe
flush = recorder.flush


@contextmanager
def timed(name: str, labels: tuple = ()):
    started = time.perf_counter()
    try:
        yield
    finally:
        recorder.observe(name, time.perf_counter() - started, labels)


class ApiTimingMiddleware:
    """Times every /api/ request, labelled by method, URL pattern (not path: bounded) and status class."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # The URL pattern, not the path: bounded label values (DRF's router adds regex anchors).
        route = "/" + match.route.replace("^", "").rstrip("$") if match is not None and match.route else "unmatched"
        method = request.method if request.method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD") else "other"
        labels = (("method", method), ("route", route), ("status", f"{response.status_code // 100}xx"))
        recorder.observe("api_request", time.perf_counter() - started, labels)
        return response
