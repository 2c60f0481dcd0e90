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

When no other worker could start them sooner, the bound is longer: the
heartbeat counts the idle slots of the other live workers on this worker's
queues, and while there are none (a lone worker, or all of them busy) the
time is OAWEB_CONTINUE_BACKLOG_ALONE_SECONDS: a published step would come
back to this worker anyway, a broker hop later. Still a bound: a held step
shows as running, and a step of seconds gains nothing from skipping a hop.

Durations are an exponentially weighted mean per component, kept in memory
(per process, lost on restart: a fresh worker learns again in a step).

The same means per step of a workflow version rank the ready steps a worker
holds: the one with the longest expected chain of work after it starts
first (critical path first), so that a run's longest chain never waits for
a slot behind steps that could have run later. A step's mean comes from the
earlier runs of its version here; a step never run here counts as its
component's mean, or as a moment, so that a chain's length still counts.
"""

import threading
import time
from collections import OrderedDict

from django.conf import settings

# Weight of the newest duration in the mean: a few steps dominate, so a
# component that turned slow (an API under load) stops being kept quickly.
NEWEST_WEIGHT = 0.3

_durations: dict[str, float] = {}
# (version's content hash, spec step id) -> mean: the same steps share it, whatever their workflow.
_step_durations: OrderedDict[tuple[str, str], float] = OrderedDict()
_lock = threading.Lock()
STEP_MEANS_KEPT = 50_000  # the least recently run steps' means go first

# A version's ranks are computed again after this long, with the newer means.
RANKS_FRESH_SECONDS = 1.0
UNKNOWN_STEP_SECONDS = 0.001
_ranks: dict[str, tuple[float, dict[str, float]]] = {}  # content hash -> (when computed, ranks)
# Idle slots of the other live workers on this worker's queues, as of the last
# heartbeat; None until one counted them (then the time bound applies).
_idle_elsewhere: int | None = None


def observe(component: str, seconds: float, step: tuple[str, str] | None = None) -> None:
    """Record that a step of `component` took `seconds` (its call, start to return); `step`: (content hash, step id)."""
    with _lock:
        _durations[component] = _mean(_durations.get(component), seconds)
        if step is not None:
            _step_durations[step] = _mean(_step_durations.pop(step, None), seconds)
            if len(_step_durations) > STEP_MEANS_KEPT:
                _step_durations.popitem(last=False)


def _mean(mean: float | None, seconds: float) -> float:
    return seconds if mean is None else mean + NEWEST_WEIGHT * (seconds - mean)


def expected(component: str) -> float | None:
    """The mean duration of this component's steps here, or None when none has run here yet."""
    return _durations.get(component)


def ranks(version) -> dict[str, float]:
    """Each step of a compiled version: its expected seconds from its start to the end of its longest chain of
    descendants (recomputed at most every RANKS_FRESH_SECONDS as the means change)."""
    cached = _ranks.get(version.content_hash)
    if cached is not None and time.monotonic() - cached[0] < RANKS_FRESH_SECONDS:
        return cached[1]
    with _lock:
        expected = {
            step_id: _step_durations.get((version.content_hash, step_id))
            or _durations.get(step.component)
            or UNKNOWN_STEP_SECONDS
            for step_id, step in version.spec.steps.items()
        }
    children = version.plan.children
    computed: dict[str, float] = {}
    for step_id in reversed(version.plan.order):
        computed[step_id] = expected[step_id] + max((computed[child] for child in children.get(step_id, ())), default=0)
    if len(_ranks) > STEP_MEANS_KEPT // 100:
        _ranks.clear()  # cheap to compute again
    _ranks[version.content_hash] = (time.monotonic(), computed)
    return computed


def note_idle_elsewhere(slots: int) -> None:
    """The heartbeat's count of the idle slots of the other workers that serve this worker's queues."""
    global _idle_elsewhere
    _idle_elsewhere = slots


def backlog(components, slots: int, limit: int) -> int:
    """How many of these ready steps (by component, in order) to keep, at most `limit`.

    Steps are kept in order while their expected work, spread over `slots`,
    fits in the backlog time (the longer one when no other worker has an
    idle slot); the first unknown component ends the backlog. None with a
    backlog time of 0: the backlog off.
    """
    per_slot = settings.OAWEB_CONTINUE_BACKLOG_SECONDS
    if per_slot <= 0:
        return 0
    if _idle_elsewhere == 0:
        per_slot = max(per_slot, settings.OAWEB_CONTINUE_BACKLOG_ALONE_SECONDS)
    allowance = per_slot * max(1, slots)
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
    """Drop every mean and the count of idle slots elsewhere (tests)."""
    global _idle_elsewhere
    with _lock:
        _durations.clear()
        _step_durations.clear()
        _ranks.clear()
    _idle_elsewhere = None
