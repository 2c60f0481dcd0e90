"""A join of 200 parallel parents, while a worker running them is SIGKILLed in every round.

Each round has its own queue and a worker started for it ("doomed"). In
five rounds a failpoint kills that worker inside one window of the step
path (claimed, before or after the commit, after publishing, continuing
with the join), so every window is hit on every run of the test, not by
luck; in the others a plain SIGKILL lands after a short random delay.

After each kill a replacement starts on the round's queue and finishes the
round; it serves the next round's queue too, beside that round's doomed
worker, and is stopped when that round is over. So two processes share each
round but the first (as fast as this 2-core machine goes), a fresh one
joins every round, and the first round's doomed worker is alone until it
dies. Every run must succeed with each step's success recorded exactly
once: the join never runs twice, no parent's success is counted twice
towards it, and each step the dead worker held is taken back and runs again.
"""

import random
import threading
import time

import pytest
from django.db import connections
from django.utils import timezone

from tests.faults import (
    assert_each_success_recorded_once,
    failpoint_env,
    failpoint_fired,
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

PARENTS = 200
RUNS_PER_ROUND = 10
CONCURRENCY = 4  # per worker: two processes of 4 threads beat one of 8 on this machine
# Each round's fault: a failpoint, or None for a SIGKILL after a random delay. step.continuing is
# passed once per run (the worker that finishes a run's last parent continues with the join), so it
# fires at its 2nd hit, the second run's join, and comes first: only the first round's doomed worker
# is alone on its queue (no earlier replacement serves it), so only there is it sure to finish the
# last parent of two runs.
FAULTS = [
    "step.continuing",
    None,
    "step.after_commit",
    "step.before_commit",
    None,
    "step.claimed",
    "step.published",
    None,
]
HITS = {"step.continuing": (2, 2)}  # the hit that fires a failpoint, drawn from this range
OTHER_HITS = (50, 150)  # of about 2000 steps a round: early in the round, and always reached
# Failpoints whose window holds the step at hand: the worker always dies holding a step.
HOLDING = {"step.claimed", "step.before_commit", "step.continuing"}
KILL_AFTER = (0.5, 2.0)  # seconds after the round's first run started, for the plain SIGKILLs
ROUND_TIMEOUT = 60
SETTLE_SECONDS = 0.5  # after a death: less than the lease (3 s) less a heartbeat (1 s)


def join_definition(queue: str) -> dict:
    parents = [{"id": f"p{n}", "component": "core.noop", "queue": queue, "inputs": {"n": n}} for n in range(PARENTS)]
    join = {"id": "join", "component": "core.noop", "queue": queue, "depends_on": [p["id"] for p in parents]}
    return {"id": f"join-under-kills-{queue}", "steps": [*parents, join]}


def queue_of(number: int) -> str:
    return f"chaos-join-{number}"


def held_by(worker) -> list[int]:
    """Steps running under the worker's name: after its death, what it leaves to the reaper."""
    running = StepRun.objects.filter(status=StepStatus.RUNNING, worker__endswith=f":{worker.pid}")
    return list(running.values_list("pk", flat=True))


def attempts_of(step_run_ids) -> list[tuple]:
    rows = StepAttempt.objects.filter(step_run__in=step_run_ids).order_by("step_run", "number")
    return [
        (pk, number, status, worker, f"{started:%H:%M:%S.%f}", f"{finished:%H:%M:%S.%f}" if finished else None)
        for pk, number, status, worker, started, finished in rows.values_list(
            "step_run_id", "number", "status", "worker", "started", "finished"
        )
    ]


class RunStarter(threading.Thread):
    """Starts a round's runs in the background, so that the test watches the doomed worker meanwhile."""

    def __init__(self, version, count: int):
        super().__init__(name="run-starter", daemon=True)
        self.version, self.count, self.runs, self.error = version, count, [], None

    def run(self):
        try:
            for _ in range(self.count):
                self.runs.append(start_run(self.version, {}))
        except Exception as exc:  # reported by the test
            self.error = exc
        finally:
            connections.close_all()  # this thread's connection: the test database is dropped at the end


def test_join_of_200_parents_completes_once_while_workers_are_killed(workers, worker_processes):
    rng = random.Random()
    team = Team.default()
    rounds = range(len(FAULTS))
    versions = [Workflow.import_definition(join_definition(queue_of(n)), team=team)[0] for n in rounds]
    hits = [rng.randint(*HITS.get(fault, OTHER_HITS)) if fault else None for fault in FAULTS]
    purge_queues(*(queue_of(n) for n in rounds))  # what a failed earlier session may have left there
    started = time.monotonic()
    ready: dict[int, object] = {}  # round -> its doomed worker, or why it did not start
    preparing = starter = None
    previous = None  # the previous round's replacement, serving this round's queue too

    def start_doomed(number: int):
        env = failpoint_env(FAULTS[number], hits[number]) if FAULTS[number] else {}
        try:
            ready[number] = worker_processes.start(
                f"join-doomed-{number}", queues=queue_of(number), concurrency=CONCURRENCY, env=env
            )
        except Exception as exc:  # raised by the test, not lost in this thread
            ready[number] = exc

    try:
        start_doomed(0)
        for number, fault in enumerate(FAULTS):
            doomed = ready.pop(number)
            if isinstance(doomed, Exception):
                raise doomed
            assert doomed.process.poll() is None, f"round {number}: the doomed worker died early:\n{tail(doomed)}"
            round_started = time.monotonic()
            starter = RunStarter(versions[number], RUNS_PER_ROUND)
            starter.start()
            if fault:
                died = wait_for_exit(doomed, timeout=ROUND_TIMEOUT)
                assert died is not None, f"round {number}: {fault}:{hits[number]} never fired:\n{tail(doomed)}"
                assert failpoint_fired(doomed, fault), f"round {number}: died without {fault}:\n{tail(doomed)}"
                how = f"failpoint {fault}:{hits[number]}"
            else:
                kill_after = rng.uniform(*KILL_AFTER)
                time.sleep(kill_after)
                holding_by = time.monotonic() + 2  # rather while it holds a step: noops are quick, it may not
                while not held_by(doomed) and time.monotonic() < holding_by:
                    time.sleep(0.005)
                doomed.kill()
                how = f"SIGKILL after {kill_after:.2f} s"
            killed_after = time.monotonic() - round_started
            # What the dead worker left running, for the reaper to put back once each. A COMMIT it
            # sent just before dying still lands: look once that has settled, well before the lease ends.
            time.sleep(SETTLE_SECONDS)
            held = held_by(doomed)
            looked_at = timezone.now()
            worker_processes.stop(doomed.name)
            queues = ",".join(queue_of(n) for n in (number, number + 1) if n in rounds)
            replacement = worker_processes.start(f"join-replacement-{number}", queues=queues, concurrency=CONCURRENCY)
            if number + 1 < len(FAULTS):
                preparing = threading.Thread(target=start_doomed, args=(number + 1,))
                preparing.start()
            starter.join(ROUND_TIMEOUT)
            assert starter.error is None, f"round {number}: starting runs failed: {starter.error!r}"
            deadline = round_started + ROUND_TIMEOUT
            for run in starter.runs:
                wait_for_run(run, timeout=max(0.1, deadline - time.monotonic()))
            seconds = time.monotonic() - round_started
            counts = step_counts(run.pk for run in starter.runs)
            lost_by_doomed = StepAttempt.objects.filter(
                step_run__run__in=starter.runs, status=AttemptStatus.LOST, worker__endswith=f":{doomed.pid}"
            ).count()
            line = (
                f"round {number} ({how}, {killed_after:.1f} s in, holding {len(held)} steps): runs finished "
                f"{counts.runs - counts.runs_unfinished}/{counts.runs} (succeeded {counts.runs_succeeded}), "
                f"steps {counts.steps}, steps with extra (lost) attempts {counts.extra_attempts} "
                f"(lost attempts {counts.lost_attempts}, {lost_by_doomed} of them the doomed worker's), "
                f"successes recorded twice {counts.recorded_twice}, {seconds:.1f} s"
            )
            print(line)
            if preparing is not None:
                preparing.join()
                preparing = None
            if previous is not None:
                worker_processes.stop(previous.name)
            previous = replacement
            assert counts.runs == RUNS_PER_ROUND and counts.steps == RUNS_PER_ROUND * (PARENTS + 1), line
            assert_each_success_recorded_once(counts, line)
            ran_again = StepRun.objects.filter(pk__in=held, attempt__gte=2).count()
            assert ran_again == len(held), (
                f"steps the dead worker held did not run again: {line}; looked at {looked_at:%H:%M:%S.%f}; "
                f"their attempts (step, number, status, worker, started, finished): {attempts_of(held)}"
            )
            if fault in HOLDING:
                assert held, f"the step at {fault} was not left running: {line}"
    finally:
        for thread in (preparing, starter):
            if thread is not None:
                thread.join(ROUND_TIMEOUT)
        for name in [name for name in worker_processes.workers if name.startswith("join-")]:
            worker_processes.stop(name)
    print(f"join under kills: {len(FAULTS)} rounds of {RUNS_PER_ROUND} runs in {time.monotonic() - started:.1f} s")
