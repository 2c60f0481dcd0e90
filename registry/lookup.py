"""Cached lookups of components as the database holds them.

The validator and the engine ask for components often; the database is asked
once per cache generation. Any change to a Component row bumps the
generation (Component.save/delete), so every process sees it on its next
lookup. In distributed mode the generation lives in Redis (Django's cache),
so a change made on one machine reaches all of them.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass

from django.core.cache import cache

from workflows import timings

log = logging.getLogger(__name__)

GENERATION_KEY = "oaweb:registry:generation"
SNAPSHOT_KEY = "oaweb:registry:snapshot:{generation}"
SNAPSHOT_TTL = 24 * 3600


@dataclass(frozen=True)
class ComponentInfo:
    name: str
    version: str
    kind: str
    input_schema: dict
    output_schema: dict
    entrypoint: str
    is_class: bool
    queue: str
    timeout: float | None
    retry: dict | None
    rate_limit: str
    enabled: bool


_local = threading.local()


def _fresh_generation() -> int:
    # Starts from the clock, not 1: after the cache is flushed, a new
    # generation must differ from any a process still holds in memory.
    return time.time_ns() // 1000


# The shared generation is read at most this often per process: a step
# shouldn't pay a Redis round trip for it. A change made elsewhere is seen
# within this delay; one made in this process at once (invalidate resets it);
# an answer that would refuse a component at once too (see get).
GENERATION_CHECK_SECONDS = 1.0
# "at" starts in the infinite past: time.monotonic() may be small on a fresh machine.
_checked = {"at": -math.inf, "generation": None}


def _generation() -> int:
    if time.monotonic() - _checked["at"] < GENERATION_CHECK_SECONDS:
        return _checked["generation"]
    try:
        generation = cache.get(GENERATION_KEY)
        if generation is None:
            cache.add(GENERATION_KEY, _fresh_generation(), timeout=None)
            generation = cache.get(GENERATION_KEY) or _fresh_generation()
    except Exception:  # the shared cache (Redis) is down: a step must still finish
        if _checked["generation"] is None:
            _checked["generation"] = _fresh_generation()
        log.warning("registry generation unreadable; using the last known one", exc_info=True)
        _checked["at"] = time.monotonic()
        return _checked["generation"]
    _checked["at"], _checked["generation"] = time.monotonic(), generation
    return generation


def recheck() -> None:
    """Read the shared generation at the next lookup, not up to GENERATION_CHECK_SECONDS late."""
    _checked["at"] = -math.inf


def invalidate() -> None:
    recheck()
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # not set (never, or flushed): the next lookup starts a fresh one
        cache.add(GENERATION_KEY, _fresh_generation(), timeout=None)


def _load_snapshot() -> dict[str, ComponentInfo]:
    from registry.models import Component

    return {
        row.name: ComponentInfo(
            name=row.name,
            version=row.version,
            kind=row.kind,
            input_schema=row.input_schema,
            output_schema=row.output_schema,
            entrypoint=row.entrypoint,
            is_class=row.is_class,
            queue=row.queue,
            timeout=row.timeout,
            retry=row.retry,
            rate_limit=row.rate_limit,
            enabled=row.enabled,
        )
        for row in Component.objects.all()
    }


def components() -> dict[str, ComponentInfo]:
    """Every component by name (disabled ones too: callers decide)."""
    started = time.perf_counter()  # metrics (issue 6): lookup time, cached or not
    try:
        return _components()
    finally:
        timings.observe("component_lookup", time.perf_counter() - started)


def _components() -> dict[str, ComponentInfo]:
    generation = _generation()
    # The per-thread copy spares unpickling the snapshot on every lookup.
    if getattr(_local, "generation", None) == generation:
        return _local.snapshot
    key = SNAPSHOT_KEY.format(generation=generation)
    try:
        snapshot = cache.get(key)
    except Exception:  # the shared cache is down: the database has the same answer
        snapshot = None
    if snapshot is None:
        snapshot = _load_snapshot()
        try:
            cache.set(key, snapshot, SNAPSHOT_TTL)
        except Exception:
            log.warning("could not share the registry snapshot", exc_info=True)
    _local.generation, _local.snapshot = generation, snapshot
    return snapshot


def get(name: str) -> ComponentInfo | None:
    """The component, or None. A missing or disabled answer is rechecked at once.

    Callers refuse a step or a run on that answer, for good: it must not be
    a second old when the component was registered or enabled elsewhere
    a moment ago. Such answers are rare, so the extra Redis read is too.
    """
    info = components().get(name)
    if not _callable(info):
        recheck()
        info = components().get(name)
    return info


def usable(name: str) -> ComponentInfo | None:
    """The component if steps may call it now (registered and enabled), else None."""
    info = get(name)
    return info if _callable(info) else None


def _callable(info: ComponentInfo | None) -> bool:
    return info is not None and info.enabled


def generation() -> int:
    """Part of cache keys of anything derived from the registry (validation)."""
    return _generation()
