"""Cached lookups of components as the database holds them.

The validator and the engine ask for components often; the database is asked
once per cache generation. Any change to a Component row bumps the
generation (Component.save/delete), so every process sees it on its next
lookup. In distributed mode the generation lives in Redis (Django's cache),
so a change made on one machine reaches all of them.
"""

import logging
import threading
import time
from dataclasses import dataclass

from django.core.cache import cache

from registry.generation import current as _generation
from registry.generation import invalidate, recheck  # noqa: F401  (callers say lookup.invalidate())
from registry.models import Component

log = logging.getLogger(__name__)

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
# Called with each lookup's duration in seconds; the metrics register one
# (workflows/apps.py): the registry itself knows nothing of who listens.
lookup_observers: list = []


def _load_snapshot() -> dict[str, ComponentInfo]:
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
    started = time.perf_counter()
    try:
        return _components()
    finally:
        for observe in lookup_observers:  # the metrics' timing of lookups, cached or not
            observe(time.perf_counter() - started)


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
