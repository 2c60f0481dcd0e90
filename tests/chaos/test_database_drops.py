"""The workers' PostgreSQL connections terminated every half second while runs go on.

As a database failover or restart does: every statement of the step path
may find its connection gone. The engine retries a statement on a new
connection, and every write is conditional on the step still being this
attempt's, so every run must finish successfully and no step's success may
be recorded twice. Steps that ran more than once (a claim or an outcome
whose connection dropped, then a lease that ran out) are counted and
printed: ideally none.
"""

import time

import pytest

from tests.faults import (
    BackendTerminator,
    assert_each_success_recorded_once,
    purge_queues,
    sleep_chain,
    sleep_fan_out,
    step_counts,
    tagged_database_url,
)
from workflows.execution.runs import start_run, wait_for_run
from workflows.models import Team, Workflow

pytestmark = [pytest.mark.distributed, pytest.mark.chaos, pytest.mark.slow]

QUEUE = "chaos-db"
APPLICATION_NAME = "oaweb-chaos-db-worker"
DROP_EVERY_SECONDS = 0.5
DROP_FOR_SECONDS = 8.0
STEP_SECONDS = 0.2
CHAINS, CHAIN_LENGTH = 8, 12
FAN_OUTS, FAN_WIDTH = 4, 24


def test_runs_finish_once_while_the_database_drops_the_workers_connections(workers, worker_processes):
    purge_queues(QUEUE)
    team = Team.default()
    chain_version, _ = Workflow.import_definition(
        sleep_chain("database-drops-chain", QUEUE, CHAIN_LENGTH, STEP_SECONDS), team=team
    )
    fan_out_version, _ = Workflow.import_definition(
        sleep_fan_out("database-drops-fan-out", QUEUE, FAN_WIDTH, STEP_SECONDS), team=team
    )
    env = {"DATABASE_URL": tagged_database_url(worker_processes.database_url, APPLICATION_NAME)}
    names = ["db-drops-1", "db-drops-2"]
    try:
        for name in names:
            worker_processes.start(name, queues=QUEUE, concurrency=4, env=env)
        started = time.monotonic()
        runs = [start_run(chain_version, {}) for _ in range(CHAINS)]
        runs += [start_run(fan_out_version, {}) for _ in range(FAN_OUTS)]
        with BackendTerminator(APPLICATION_NAME, interval=DROP_EVERY_SECONDS) as terminator:
            deadline = started + DROP_FOR_SECONDS
            while time.monotonic() < deadline and any(not run.is_final for run in runs):
                time.sleep(0.2)
                for run in runs:
                    run.refresh_from_db(fields=["status"])
        dropping = time.monotonic() - started
        runs = [wait_for_run(run, timeout=90) for run in runs]
        seconds = time.monotonic() - started
    finally:
        for name in names:
            worker_processes.stop(name)

    counts = step_counts(run.pk for run in runs)
    line = (
        f"database drops: {terminator.terminated} worker connections terminated in {terminator.rounds} rounds "
        f"over {dropping:.1f} s; {counts.summary()}, {seconds:.1f} s"
    )
    print(line)
    statuses = {run.pk: (run.status, run.error) for run in runs if run.status != "succeeded"}
    assert terminator.terminated >= terminator.rounds // 2 > 0, f"the connections were hardly dropped: {line}"
    assert counts.steps == CHAINS * CHAIN_LENGTH + FAN_OUTS * (FAN_WIDTH + 2), line
    assert_each_success_recorded_once(counts, f"{line}; runs that did not succeed: {statuses}")
