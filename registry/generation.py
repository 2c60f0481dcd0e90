"""The registry's cache generation: any change to a Component bumps it, and every process's lookups follow.

Kept apart from lookup.py so that the model (which bumps it) and the
lookups (which read the model) don't import each other.
"""

import logging
import math
import time

from django.core.cache import cache

log = logging.getLogger(__name__)

GENERATION_KEY = "oaweb:registry:generation"


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


def current() -> int:
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
