"""A worker killed at each failpoint of the step path, and a rescuer that finishes the run.

The armed worker is alone on its queue with one thread, so the order of
the steps, and so where it dies, is known:

    a -> b (reads a's output: the worker continues with it), a -> c -> d <- b, d -> e

a runs; its success readies b (continued by the same worker) and c (published);
b runs; c runs and readies d (continued); d readies e (continued); e ends the run.
That is with the backlog off (OAWEB_CONTINUE_BACKLOG_SECONDS=0). With it on (the
default), c is not published: the worker holds it in its backlog (it has run a
core.noop already, so it expects c to be short) and the dead worker holds both.
Each case names the failpoint, the hit that fires it, the steps that must
have succeeded before the death and the step the dead worker must hold. The
rescuer must finish the run with every success recorded once: a step done
before the death never runs again, the held step runs again once (a lost
attempt, then a success), and it all takes less than two leases and a
reaper pass (plus the rescuer's start-up and a margin) after the kill.
"""

import time
from dataclasses import dataclass

import pytest
from django.conf import settings

from tests.faults import (
    assert_each_success_recorded_once,
    failpoint_env,
    failpoint_fired,
    paused,
    purge_queues,
    step_counts,
    tail,
    wait_for_exit,
)
from workflows.execution.models import StepAttempt, StepRun
from workflows.execution.runs import start_run, wait_for_run
from workflows.execution.status import AttemptStatus, StepStatus
from workflows.models import Team, Workflow

pytestmark = [pytest.mark.distributed, pytest.mark.chaos, pytest.mark.slow]

# The kill is noticed within a lease (the dead worker's last renewal) and a reaper pass; a
# step readied but never published waits a lease after its commit, then a pass. The margin
# covers the rescuer's start-up (a second or two, in parallel with the wait) and this busy machine.
MARGIN_SECONDS = 4.0


def recovery_bound() -> float:
    return 2 * settings.OAWEB_LEASE_SECONDS + settings.OAWEB_REAPER_SECONDS + MARGIN_SECONDS


def dag(queue: str) -> dict:
    def step(step_id, **fields):
        return {"id": step_id, "component": "core.noop", "queue": queue, **fields}

    return {
        "id": f"failpoints-{queue}",
        "steps": [
            step("a", inputs={"value": 1}),
            step("b", inputs={"value": "{{ steps.a.outputs.value }}"}),
            step("c", depends_on=["a"]),
            step("d", depends_on=["b", "c"]),
            step("e", depends_on=["d"]),
        ],
    }


@dataclass(frozen=True)
class Case:
    point: str
    hit: int
    done: frozenset  # succeeded before the death: must never run again
    held: frozenset  # left running by the dead worker: runs again once
    why: str
    backlog: bool = False

    def __str__(self):
        return f"{self.point}:{self.hit}" + ("+backlog" if self.backlog else "")

    def env(self) -> dict:
        return {
            **failpoint_env(self.point, self.hit),
            **({} if self.backlog else {"OAWEB_CONTINUE_BACKLOG_SECONDS": "0"}),
        }


CASES = [
    Case("step.claimed", 2, frozenset("a"), frozenset("b"), "b claimed by continuation; c published, waiting"),
    Case("step.before_commit", 1, frozenset(), frozenset("a"), "a's component returned, its outcome not committed"),
    Case("step.after_commit", 1, frozenset("a"), frozenset("b"), "a committed; b continued, c readied, unpublished"),
    Case("step.published", 1, frozenset("a"), frozenset("b"), "a committed, c published; a's message unacknowledged"),
    Case("step.continuing", 2, frozenset("abc"), frozenset("d"), "c committed, d claimed for the dead worker"),
    Case("step.claimed", 2, frozenset("a"), frozenset("bc"), "b claimed by continuation; c held in the backlog", True),
    Case("step.continuing", 1, frozenset("a"), frozenset("bc"), "a committed; b and c claimed, c held", True),
]


def statuses(run) -> dict[str, tuple[str, int, str]]:
    return {
        step_id: (status, attempt, worker)
        for step_id, status, attempt, worker in run.steps.values_list("step_id", "status", "attempt", "worker")
    }


def attempts_of(run) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for step_id, status in (
        StepAttempt.objects.filter(step_run__run=run).order_by("number").values_list("step_run__step_id", "status")
    ):
        found.setdefault(step_id, []).append(status)
    return found


@pytest.mark.parametrize("case", CASES, ids=str)
def test_run_finishes_once_after_a_worker_dies_at_a_failpoint(workers, worker_processes, case):
    queue = f"chaos-fp-{str(case).replace('.', '-').replace(':', '-').replace('+', '-')}"
    purge_queues(queue)
    version, _ = Workflow.import_definition(dag(queue), team=Team.default())
    armed = worker_processes.start(f"armed-{case.point}", queues=queue, concurrency=1, env=case.env())
    try:
        run = start_run(version, {})
        died = wait_for_exit(armed, timeout=30)
        assert died is not None, f"{case} never fired:\n{tail(armed)}"
        at_death = statuses(run)
        worker_processes.start(f"rescuer-{case.point}", queues=queue, concurrency=2)
        run = wait_for_run(run, timeout=60)
        recovered_in = time.monotonic() - died
    finally:
        worker_processes.stop(f"rescuer-{case.point}")
        worker_processes.stop(armed.name)

    attempts = attempts_of(run)
    counts = step_counts([run.pk])
    print(
        f"{case} ({case.why}): run {run.status} {recovered_in:.1f} s after the kill "
        f"(bound {recovery_bound():.0f} s); steps {counts.steps}, with extra attempts {counts.extra_attempts}, "
        f"lost attempts {counts.lost_attempts}, successes recorded twice {counts.recorded_twice}; attempts {attempts}"
    )
    context = f"{case}: at the death {at_death}; attempts {attempts}; {counts}"
    assert failpoint_fired(armed, case.point), f"{case}: the worker died, but not at its failpoint:\n{tail(armed)}"
    dead = f":{armed.pid}"
    assert {s for s, (status, _, _) in at_death.items() if status == StepStatus.SUCCEEDED} == case.done, context
    assert {s for s, (status, _, w) in at_death.items() if status == StepStatus.RUNNING and w.endswith(dead)} == (
        case.held
    ), context
    assert_each_success_recorded_once(counts, context)
    for step_id in case.done:
        assert attempts[step_id] == [AttemptStatus.SUCCEEDED], f"{step_id} ran again after its success: {context}"
    for step_id in case.held:
        assert attempts[step_id] == [AttemptStatus.LOST, AttemptStatus.SUCCEEDED], context
    assert counts.extra_attempts == len(case.held), f"steps other than the held one ran twice: {context}"
    assert recovered_in < recovery_bound(), f"{case}: recovered in {recovered_in:.1f} s: {context}"


def test_run_finishes_after_the_reaper_dies_resending_a_lost_message(workers, worker_processes):
    """The broker lost a queued step's message; the reaper resending it dies before publishing.

    The reaper marked the step resent (its deadline moved on by a lease) and
    died before the message left: the next reaper sends it once that deadline
    passes. The session's general worker is stopped meanwhile so that the
    armed worker is the only reaper.
    """
    queue = "chaos-fp-reaper"
    purge_queues(queue)
    definition = {
        "id": "failpoints-reaper",
        "steps": [
            {"id": "lonely", "component": "core.noop", "queue": queue, "inputs": {"value": 1}},
            {"id": "after", "component": "core.noop", "queue": queue, "depends_on": ["lonely"]},
        ],
    }
    version, _ = Workflow.import_definition(definition, team=Team.default())
    with paused(worker_processes, "general"):
        # Its own queue has no steps: it is here for its maintenance thread, the reaper.
        armed = worker_processes.start(
            "armed-reaper", queues="chaos-fp-reaper-idle", concurrency=1, env=failpoint_env("reaper.resending")
        )
        try:
            run = start_run(version, {})
            lonely = run.steps.get(step_id="lonely")
            deleted = purge_queues(queue)  # the broker loses the message: the step stays queued, unheld
            died = wait_for_exit(armed, timeout=30)
            assert died is not None, f"the reaper never resent the lost message:\n{tail(armed)}"
            worker_processes.start("rescuer-reaper", queues=queue, concurrency=1)
            run = wait_for_run(run, timeout=60)
            recovered_in = time.monotonic() - died
        finally:
            worker_processes.stop("rescuer-reaper")
            worker_processes.stop(armed.name)

    counts = step_counts([run.pk])
    lonely.refresh_from_db()
    print(
        f"reaper.resending:1: {deleted} message(s) deleted from the broker; run {run.status} "
        f"{recovered_in:.1f} s after the reaper's death (bound {recovery_bound():.0f} s); {counts}"
    )
    assert deleted == 1, "the step's message was not on its queue to be lost"
    assert failpoint_fired(armed, "reaper.resending"), tail(armed)
    assert_each_success_recorded_once(counts)
    assert counts.extra_attempts == 0 and lonely.attempt == 1, counts
    assert StepRun.objects.filter(run=run, status=StepStatus.SUCCEEDED).count() == 2
    assert recovered_in < recovery_bound(), f"recovered in {recovered_in:.1f} s: {counts}"
