"""Cached lookups of components as the database holds them.

The validator and the engine ask for components often; the database is asked
once per cache generation. Any change to a Component row bumps the
generation (Component.save/delete), so every process sees it on its next
lookup. In distributed mode the generation lives in Redis (Django's cache),
so a change made on one machine reaches all of them.
"""

import threading
from dataclasses import dataclass

from django.core.cache import cache

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


def _generation() -> int:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, 1, timeout=None)
        generation = cache.get(GENERATION_KEY) or 1
    return generation


def invalidate() -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # not set yet: the next lookup starts a generation
        cache.add(GENERATION_KEY, 1, timeout=None)
        cache.incr(GENERATION_KEY)


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
    generation = _generation()
    # The per-thread copy spares unpickling the snapshot on every lookup.
    if getattr(_local, "generation", None) == generation:
        return _local.snapshot
    key = SNAPSHOT_KEY.format(generation=generation)
    snapshot = cache.get(key)
    if snapshot is None:
        snapshot = _load_snapshot()
        cache.set(key, snapshot, SNAPSHOT_TTL)
    _local.generation, _local.snapshot = generation, snapshot
    return snapshot


def get(name: str) -> ComponentInfo | None:
    return components().get(name)


def generation() -> int:
    """Part of cache keys of anything derived from the registry (validation)."""
    return _generation()
