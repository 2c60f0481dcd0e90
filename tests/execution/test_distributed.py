"""Real runworker processes: queue routing, a SIGKILLed worker, a flushed Redis."""

import time

import pytest
from django.conf import settings

from workflows.execution.models import StepAttempt
from workflows.execution.runs import start_run, wait_for_run
from workflows.models import Team, Workflow

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


def wait_until(predicate, timeout=30, message="condition never held"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(message)


def test_step_routed_to_a_queue_runs_on_a_worker_listening_only_there(workers, worker_processes):
    io_worker = worker_processes.start("io", queues="io", concurrency=1)
    try:
        definition = {
            "id": "routed",
            "steps": [
                {"id": "anywhere", "component": "core.noop"},
                {"id": "on_io", "component": "core.noop", "queue": "io", "depends_on": ["anywhere"]},
            ],
        }
        version, _ = Workflow.import_definition(definition, team=Team.default())
        run = wait_for_run(start_run(version), timeout=60)

        assert run.status == "succeeded", run.error
        on_io = run.steps.get(step_id="on_io")
        assert on_io.queue == "io"
        assert on_io.worker.endswith(f":{io_worker.pid}")
        assert not run.steps.get(step_id="anywhere").worker.endswith(f":{io_worker.pid}")
    finally:
        worker_processes.stop("io")


@pytest.mark.chaos
def test_step_of_a_sigkilled_worker_runs_again_and_completes_once(workers, worker_processes):
    doomed = worker_processes.start("doomed", queues="chaos", concurrency=1)
    definition = {
        "id": "survivor",
        "steps": [
            {"id": "long", "component": "core.sleep", "inputs": {"seconds": 3}, "queue": "chaos"},
            {"id": "after", "component": "core.noop", "inputs": {"slept": "{{ steps.long.outputs.slept }}"}},
        ],
    }
    version, _ = Workflow.import_definition(definition, team=Team.default())
    run = start_run(version)
    long_step = run.steps.get(step_id="long")
    wait_until(
        lambda: long_step.__class__.objects.filter(pk=long_step.pk, status="running").exists(),
        message="the doomed worker never started the step",
    )
    doomed.kill()
    killed_at = time.monotonic()
    worker_processes.start("rescuer", queues="chaos", concurrency=1)
    try:
        run = wait_for_run(run, timeout=90)
        recovered_in = time.monotonic() - killed_at
    finally:
        worker_processes.stop("rescuer")
        worker_processes.stop("doomed")

    assert run.status == "succeeded", run.error
    assert recovered_in < 60
    long_step.refresh_from_db()
    attempts = list(StepAttempt.objects.filter(step_run=long_step).order_by("number"))
    assert [a.status for a in attempts] == ["lost", "succeeded"]
    assert attempts[0].worker.endswith(f":{doomed.pid}")
    assert long_step.attempt == 2
    after = run.steps.get(step_id="after")
    assert after.attempt == 1 and StepAttempt.objects.filter(step_run=after).count() == 1


@pytest.mark.chaos
def test_run_completes_after_redis_is_flushed_mid_run(workers, worker_processes):
    import redis

    definition = {
        "id": "amnesia",
        "steps": [
            {"id": "a", "component": "core.sleep", "inputs": {"seconds": 1.5}},
            {"id": "b", "component": "core.noop", "depends_on": ["a"]},
            {"id": "c", "component": "core.noop", "depends_on": ["b"]},
        ],
    }
    version, _ = Workflow.import_definition(definition, team=Team.default())
    run = start_run(version)
    wait_until(lambda: run.steps.filter(step_id="a", status="running").exists(), message="a never started")

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()  # the broker's queues and bindings too
    assert not client.keys("*")

    run = wait_for_run(run, timeout=60)
    assert run.status == "succeeded", run.error
    assert all(step.attempt == 1 for step in run.steps.all())
