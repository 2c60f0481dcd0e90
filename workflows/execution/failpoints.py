"""Failpoints: make this process die at a named point on purpose.

A kill that lands between two writes is rare by chance; a test that waits for
a random SIGKILL to land there proves little. `OAWEB_FAILPOINTS` names points
on the step path, each optionally with the hit that fires it:

    OAWEB_FAILPOINTS="step.after_commit:3,reaper.resending"

kills this process (SIGKILL: no cleanup, no acknowledgement, like a machine
dying) the third time a step passes `step.after_commit`, and the first time
the reaper resends a message. Unset (the default), `hit` costs one dict lookup.
"""

import os
import signal
import threading

from django.conf import settings

POINTS = {
    "step.claimed": "a worker claimed a step, before calling its component",
    "step.before_commit": "the component returned; its outcome's transaction is open, not committed",
    "step.after_commit": "the outcome and the children it readied are committed, nothing published yet",
    "step.published": "the ready children are published, the step's message not yet acknowledged",
    "step.continuing": "a ready child was claimed for this worker in the parent's transaction, before it runs",
    "reaper.resending": "the reaper is putting back a step nobody holds",
}

_hits: dict[str, int] = {}
_lock = threading.Lock()


def armed() -> dict[str, int]:
    """{point: the hit that fires it}, from the setting."""
    points = {}
    for item in settings.OAWEB_FAILPOINTS:
        name, _, nth = item.partition(":")
        if name not in POINTS:
            raise ValueError(f"OAWEB_FAILPOINTS: unknown point {name!r}; known: {', '.join(POINTS)}")
        points[name] = int(nth or 1)
    return points


_armed = None


def hit(point: str) -> None:
    global _armed
    if _armed is None:
        _armed = armed()
    fires_at = _armed.get(point)
    if fires_at is None:
        return
    with _lock:
        _hits[point] = _hits.get(point, 0) + 1
        count = _hits[point]
    if count == fires_at:
        print(f"failpoint {point} fired (hit {count}): killing process {os.getpid()}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
