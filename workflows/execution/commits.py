"""Group commit: successes of one run that finish together in this process share one transaction.

Every success of a run takes two hot rows: its children's (a join counts
its parents down) and the run's (its count of unfinished steps). Committed
one by one, the parallel leaves of a fan-out queue on those row locks,
each holding them through its commit. Here, while one thread commits a
run's successes, the others of that run that arrive meanwhile wait, and
the next of them commits all of them at once: no added delay when there is
no contention, one commit for many steps when there is.

The thread that commits a group gets the whole group's advance (it publishes
the ready children, sends the events and runs the children claimed for it);
the others get only whether their steps were recorded.
"""

import threading
from dataclasses import dataclass, field

from workflows.execution import failpoints, transitions
from workflows.execution.connections import retrying
from workflows.execution.messages import Advance
from workflows.execution.plans import Compiled


@dataclass
class _Entry:
    successes: list
    version: Compiled
    go_on_with: tuple
    task_id: str
    done: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    advance: Advance | None = None
    error: BaseException | None = None


class SuccessGroups:
    def __init__(self):
        self._lock = threading.Lock()
        self._queued: dict[int, list[_Entry]] = {}  # run id -> successes waiting for the commit in flight
        self._committing: set[int] = set()  # runs with a commit in flight

    def record(self, successes, version: Compiled, go_on_with=(), task_id: str = "") -> Advance:
        """Record these successes (of one run), alone or with others arriving meanwhile; their advance."""
        entry = _Entry(list(successes), version, tuple(go_on_with), task_id)
        run_id = entry.successes[0].claimed.run_id
        with self._lock:
            self._queued.setdefault(run_id, []).append(entry)
            entry.leads = run_id not in self._committing
            if entry.leads:
                self._committing.add(run_id)
        if not entry.leads:
            entry.done.wait()
        if entry.leads:
            self._lead(run_id)
        if entry.error is not None:
            raise entry.error
        return entry.advance

    def _lead(self, run_id: int) -> None:
        """Commit what is queued for the run, then hand the lead to the next waiting thread, if any."""
        with self._lock:
            group = self._queued.pop(run_id, [])
        _commit(group)
        with self._lock:
            waiting = self._queued.get(run_id)
            if waiting:
                waiting[0].leads = True
            else:
                self._committing.discard(run_id)
        for entry in group:
            entry.done.set()
        if waiting:
            waiting[0].done.set()


def _commit(group: list[_Entry]) -> None:
    leader = group[0]
    successes = [success for entry in group for success in entry.successes]
    failpoints.hit("step.before_commit")
    try:
        advance = retrying(transitions.succeed_many, successes, leader.version, leader.go_on_with, leader.task_id)
    except BaseException as error:  # each thread of the group raises it in its own step path
        for entry in group:
            entry.error = error
        return
    leader.advance = advance
    for entry in group[1:]:
        ids = frozenset(success.claimed.step_run_id for success in entry.successes) & advance.recorded_ids
        entry.advance = Advance(recorded=bool(ids), recorded_ids=ids)


groups = SuccessGroups()
