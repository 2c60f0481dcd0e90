"""Each worker process's maintenance thread: lease heartbeat, worker registry, reaper.

The heartbeat renews the lease of every step this process is running and
tells a step to stop (context.stop) when its run was cancelled or the step
was taken over. The reaper (recovery.reap, one process at a time through a
lock) re-queues steps whose lease ran out: their worker died. Together they
bring a SIGKILLed worker's step back within LEASE + REAPER seconds instead
of the broker's one-hour visibility timeout.
"""

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from workflows.execution import pace
from workflows.execution.models import StepRun
from workflows.execution.status import StepStatus
from workflows.execution.workers import Worker

log = logging.getLogger(__name__)


class RunningSteps:
    """The steps this process is executing now, and those it holds to run next: step run id -> (attempt, context).

    Held steps (a worker's backlog, runner.py) are claimed and leased like
    running ones, so the heartbeat renews their leases and stops them when
    their run is cancelled, but they take no slot until they start.
    """

    def __init__(self):
        self._steps = {}
        self._held = {}
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._listeners = set()  # called when a step ends here: deliveries holding steps that wait for a slot

    def add(self, step_run_id, attempt, context):
        with self._lock:
            self._held.pop(step_run_id, None)
            self._steps[step_run_id] = (attempt, context)
        ensure_maintenance_thread()

    def hold(self, step_run_id, attempt, context):
        with self._lock:
            self._held[step_run_id] = (attempt, context)
        ensure_maintenance_thread()

    def release(self, step_run_ids):
        """Forget held steps that will not start here (their lease then runs out: the reaper re-queues them)."""
        with self._lock:
            for step_run_id in step_run_ids:
                self._held.pop(step_run_id, None)

    def hand_over(self, ended_id, step_run_id, attempt, context):
        """A step ended and a held one starts in its slot at once: the slot is never free in between."""
        with self._lock:
            self._steps.pop(ended_id, None)
            self._held.pop(step_run_id, None)
            self._steps[step_run_id] = (attempt, context)

    def remove(self, step_run_id):
        with self._lock:
            if self._steps.pop(step_run_id, None) is None:
                return  # not running here (any more): no slot frees
            self._freed.notify()
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def listen(self, listener) -> None:
        """Call `listener()` whenever a step of this process ends (a slot frees), until unlisten."""
        with self._lock:
            self._listeners.add(listener)

    def unlisten(self, listener) -> None:
        with self._lock:
            self._listeners.discard(listener)

    def count(self) -> int:
        with self._lock:
            return len(self._steps)

    def wait_for_slot(self, limit: int, timeout: float) -> None:
        """Wait until fewer than `limit` steps run here (at most `timeout` seconds).

        A worker runs the siblings its successes claimed in call threads,
        besides its pool's threads: a delivery waits here for a slot, so
        that the process runs at most its concurrency of steps at once.
        """
        with self._freed:
            self._freed.wait_for(lambda: len(self._steps) < limit, timeout)

    def stop(self, step_run_ids) -> None:
        """Tell those of these steps running in this process to stop now (a cancel made here)."""
        with self._lock:
            known = {**self._held, **self._steps}
            contexts = [known[pk][1] for pk in step_run_ids if pk in known]
        for context in contexts:
            context.stop.set()

    def snapshot(self):
        with self._lock:
            return {**self._held, **self._steps}


running_steps = RunningSteps()


def renew_leases() -> None:
    held = running_steps.snapshot()
    if not held:
        return
    now = timezone.now()
    StepRun.objects.filter(pk__in=list(held), status=StepStatus.RUNNING).update(
        lease_expires=now + timedelta(seconds=settings.OAWEB_LEASE_SECONDS)
    )
    current = dict(
        (pk, (status, attempt))
        for pk, status, attempt in StepRun.objects.filter(pk__in=list(held)).values_list("pk", "status", "attempt")
    )
    for pk, (attempt, context) in held.items():
        status, now_attempt = current.get(pk, (None, None))
        if status != StepStatus.RUNNING or now_attempt != attempt:
            context.stop.set()  # cancelled, deleted or taken over: stop wasting work


# Work other rooms hang on the beat (the reaper, the metrics' sampling), in
# the order registered; each registers itself when the app loads
# (workflows/apps.py), so the heartbeat knows none of them.
_hooks: list[tuple[str, Callable[[], object]]] = []


def on_every_beat(name: str, hook: Callable[[], object]) -> None:
    """Call `hook` after every heartbeat of this process's maintenance thread (once per name)."""
    if name not in {known for known, _ in _hooks}:
        _hooks.append((name, hook))


def maintenance_loop(stop: threading.Event) -> None:
    while not stop.wait(settings.OAWEB_HEARTBEAT_SECONDS):
        try:
            renew_leases()
            Worker.beat(active_steps=len(running_steps.snapshot()))
            pace.note_idle_elsewhere(Worker.idle_slots_elsewhere())
        except Exception:  # keep beating: a database or Redis hiccup must not end the thread
            log.exception("worker heartbeat failed; retrying")
        for name, hook in list(_hooks):
            try:
                hook()
            except Exception:  # one room's failure is never in the way of the heartbeat or the others
                log.warning("maintenance hook %s failed", name, exc_info=True)
        try:
            close_old_connections()
        except Exception:  # a connection that can't even say its state: the thread must outlive it
            log.warning("closing old database connections failed", exc_info=True)


_thread = None
_thread_lock = threading.Lock()
_stop = threading.Event()


def ensure_maintenance_thread() -> None:
    """Start this process's maintenance thread once (after fork, in each child)."""
    global _thread
    if _thread is not None and _thread.is_alive():
        return
    with _thread_lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=maintenance_loop, args=(_stop,), name="oaweb-maintenance", daemon=True)
            _thread.start()


def stop_maintenance_thread(timeout: float = 5.0) -> None:
    """Stop this process's maintenance thread (tests, before their database goes away)."""
    global _thread
    _stop.set()
    if _thread is not None:
        _thread.join(timeout)
    _thread = None
    _stop.clear()
