"""How long each component's steps take in this process, and how many ready steps a worker keeps for itself.

A worker that finishes a step claims the children it can start at once
(its free slots). Beyond those, it may keep a short backlog of ready steps
it will run as slots free up, instead of publishing them: each skips a
broker hop, a claim statement and a commit of its own, which for short steps
costs more than the step. The backlog is bounded by time, not count: the
expected work it holds, spread over the worker's slots, stays under
OAWEB_CONTINUE_BACKLOG_SECONDS, so a worker never sits on work another idle
worker could have started much sooner. A component this process has not
run yet has no expected duration and is never kept beyond the free slots.

Durations are an exponentially weighted mean per component, kept in memory
(per process, lost on restart: a fresh worker learns again in a step).
"""

import threading

from django.conf import settings

# Weight of the newest duration in the mean: a few steps dominate, so a
# component that turned slow (an API under load) stops being kept quickly.
NEWEST_WEIGHT = 0.3

_durations: dict[str, float] = {}
_lock = threading.Lock()


def observe(component: str, seconds: float) -> None:
    """Record that a step of `component` took `seconds` (its call, start to return)."""
    with _lock:
        mean = _durations.get(component)
        _durations[component] = seconds if mean is None else mean + NEWEST_WEIGHT * (seconds - mean)


def expected(component: str) -> float | None:
    """The mean duration of this component's steps here, or None when none has run here yet."""
    return _durations.get(component)


def backlog(components, slots: int, limit: int) -> int:
    """How many of these ready steps (by component, in order) to keep, at most `limit`.

    Steps are kept in order while their expected work, spread over `slots`,
    fits in the backlog time; the first unknown component ends the backlog.
    """
    allowance = settings.OAWEB_CONTINUE_BACKLOG_SECONDS * max(1, slots)
    kept, work = 0, 0.0
    for component in components:
        if kept >= limit:
            break
        seconds = _durations.get(component)
        if seconds is None or work + seconds > allowance:
            break
        work += seconds
        kept += 1
    return kept


def forget() -> None:
    """Drop every mean (tests)."""
    with _lock:
        _durations.clear()
