"""Each transition decided in one transaction: joins, the run's finish, continuation, repairs.

The test process plays the worker: it runs each step itself (runner.execute)
and sees every message the engine would publish, so nothing runs by itself.
"""

import pytest
from django.db import connection
from django.utils import timezone

from oaweb.celery import app
from tests.conftest import wait_until
from workflows.execution import embedded, heartbeat, recovery, runner, transitions, workers
from workflows.execution.messages import StepMessage
from workflows.execution.models import Run, StepAttempt, StepRun
from workflows.execution.plans import compiled
from workflows.execution.runs import cancel_run, start_run
from workflows.execution.status import STEP_TRANSITIONS, StepStatus, TransitionRefused, check_step_transition
from workflows.models import Workflow


@pytest.fixture(autouse=True)
def steps_run_only_here(monkeypatch):
    monkeypatch.setattr(embedded, "ensure_embedded_worker", lambda: None)
    monkeypatch.setattr(heartbeat, "ensure_maintenance_thread", lambda: None)
    monkeypatch.setitem(workers.identity, "queues", [])  # not a worker until a test says so


@pytest.fixture
def sent(monkeypatch):
    """The step ids published, in order; nothing runs by itself."""
    published = []
    monkeypatch.setattr(app, "send_task", lambda name, args, kwargs, **options: published.append(args[0]))
    return published


def as_worker(monkeypatch, queues=("default",)):
    monkeypatch.setitem(workers.identity, "queues", list(queues))


def start(team, definition):
    version, _ = Workflow.import_definition(definition, team=team)
    return start_run(version, {})


def step(run, step_id) -> StepRun:
    return StepRun.objects.get(run=run, step_id=step_id)


def execute(step_run: StepRun):
    runner.execute(StepMessage(step_run.pk, component=step_run.component))


def join_definition(parents=3):
    steps = [{"id": f"p{n}", "component": "core.noop"} for n in range(parents)]
    steps.append({"id": "join", "component": "core.noop", "depends_on": [f"p{n}" for n in range(parents)]})
    return {"id": "join-shape", "steps": steps}


def chain_definition(length, slug="chain-shape"):
    steps = [{"id": "s0", "component": "core.noop", "inputs": {"n": 0}}]
    steps += [
        {"id": f"s{n}", "component": "core.noop", "inputs": {"n": f"{{{{ steps.s{n - 1}.outputs.n }}}}"}}
        for n in range(1, length)
    ]
    return {"id": slug, "steps": steps, "outputs": {"n": f"{{{{ steps.s{length - 1}.outputs.n }}}}"}}


def test_every_transition_in_the_engine_is_in_the_table():
    assert transitions.CLAIM[1] == StepStatus.RUNNING
    assert all(source in StepStatus.values and target in StepStatus.values for source, target in STEP_TRANSITIONS)
    with pytest.raises(TransitionRefused):
        check_step_transition([StepStatus.SUCCEEDED], StepStatus.RUNNING)


def test_a_join_becomes_ready_in_the_transaction_of_its_last_parent(
    components, team, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = start(team, join_definition(3))
    join = step(run, "join")
    assert join.waiting == 3 and join.status == StepStatus.PENDING
    for number, parent in enumerate(["p0", "p1", "p2"], start=1):
        with django_capture_on_commit_callbacks(execute=True):
            execute(step(run, parent))
        join.refresh_from_db()
        assert join.waiting == 3 - number
        assert join.status == (StepStatus.QUEUED if number == 3 else StepStatus.PENDING)
    assert sent.count(join.pk) == 1


def test_the_run_finishes_in_the_transaction_of_its_last_step(
    components, team, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = start(team, join_definition(2))
    assert Run.objects.get(pk=run.pk).unfinished == 3
    for step_id in ["p0", "p1", "join"]:
        with django_capture_on_commit_callbacks(execute=True):
            execute(step(run, step_id))
    run.refresh_from_db()
    assert run.status == "succeeded" and run.unfinished == 0 and run.finished is not None


def test_a_worker_carries_on_with_a_chain_without_publishing(
    components, team, sent, monkeypatch, django_capture_on_commit_callbacks
):
    as_worker(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        run = start(team, chain_definition(6))
        execute(step(run, "s0"))
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert run.outputs == {"n": 0}
    assert sent == [step(run, "s0").pk]  # only the root's message: every other step continued here
    assert set(StepAttempt.objects.filter(step_run__run=run).values_list("status", flat=True)) == {"succeeded"}
    assert StepAttempt.objects.filter(step_run__run=run).count() == 6


def test_carrying_on_is_bounded_then_the_next_step_is_published(
    components, team, sent, monkeypatch, settings, django_capture_on_commit_callbacks
):
    as_worker(monkeypatch)
    settings.OAWEB_CONTINUE_STEPS = 2
    with django_capture_on_commit_callbacks(execute=True):
        run = start(team, chain_definition(6))
        execute(step(run, "s0"))
    assert sorted(StepRun.objects.get(pk=pk).step_id for pk in sent) == ["s0", "s3"]
    assert step(run, "s3").status == StepStatus.QUEUED
    assert step(run, "s2").status == StepStatus.SUCCEEDED


def test_a_child_on_a_queue_this_worker_does_not_consume_is_published(
    components, team, sent, monkeypatch, settings, django_capture_on_commit_callbacks
):
    as_worker(monkeypatch, queues=["default"])
    definition = chain_definition(3, slug="routed-chain")
    definition["steps"][1]["queue"] = "gpu"
    with django_capture_on_commit_callbacks(execute=True):
        run = start(team, definition)
        # After the start (which asks this mode's store): embedded mode's one
        # worker consumes every queue, so routing is only seen when distributed.
        settings.EMBEDDED = False
        execute(step(run, "s0"))
    assert sorted(StepRun.objects.get(pk=pk).step_id for pk in sent) == ["s0", "s1"]


def test_a_cancelled_run_is_not_carried_on(components, team, sent, monkeypatch, django_capture_on_commit_callbacks):
    as_worker(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        run = start(team, chain_definition(3))
    first = step(run, "s0")
    claimed, _ = transitions.claim(first.pk, runner.worker_name(), "task")
    cancel_run(Run.objects.get(pk=run.pk))
    with django_capture_on_commit_callbacks(execute=True):
        runner.Local("task").run([(claimed, None)])
    assert {row.status for row in StepRun.objects.filter(run=run)} == {StepStatus.CANCELLED}
    assert not StepAttempt.objects.filter(step_run__run=run, status="succeeded").exists()


def test_a_step_that_succeeds_twice_is_recorded_once(components, team, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = start(team, join_definition(2))
    first = step(run, "p0")
    claimed, _ = transitions.claim(first.pk, "w", "task")
    version = compiled(claimed.version_id, claimed.version_hash)
    assert transitions.succeed(claimed, version, {}, {}).recorded
    assert not transitions.succeed(claimed, version, {}, {}).recorded  # a late duplicate
    assert step(run, "join").waiting == 1
    assert Run.objects.get(pk=run.pk).unfinished == 2


def test_the_reaper_repairs_a_run_whose_counters_went_wrong(components, team, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = start(team, join_definition(2))
        execute(step(run, "p0"))
        execute(step(run, "p1"))
    # As if a write had been lost: the join still counts a parent, the run a step.
    StepRun.objects.filter(run=run, step_id="join").update(status=StepStatus.PENDING, waiting=1)
    Run.objects.filter(pk=run.pk).update(unfinished=5)
    assert transitions.stalled_runs() == [run.pk]

    recovery.reap()

    join = step(run, "join")
    assert join.status == StepStatus.QUEUED and sent[-1] == join.pk
    with django_capture_on_commit_callbacks(execute=True):
        execute(join)
    assert Run.objects.get(pk=run.pk).status == "succeeded"


def test_a_run_whose_steps_are_all_final_is_finished_by_the_reaper(components, team, sent):
    run = start(team, join_definition(1))
    StepRun.objects.filter(run=run).update(status=StepStatus.SUCCEEDED, outputs={})
    recovery.reap()
    assert Run.objects.get(pk=run.pk).status == "succeeded"


def test_a_step_the_broker_refused_is_resent_by_the_reaper(
    components, team, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(app, "send_task", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        run = start(team, join_definition(1))
    root = step(run, "p0")
    assert root.status == StepStatus.QUEUED and root.lease_expires <= timezone.now()

    resent = []
    monkeypatch.setattr(app, "send_task", lambda name, args, kwargs, **options: resent.append(args[0]))
    recovery.reap()
    assert resent == [root.pk]


def test_an_absurd_list_index_fails_the_attempt_at_once_with_its_reason(
    components, team, sent, django_capture_on_commit_callbacks
):
    definition = {
        "id": "absurd-index",
        "inputs": {"x": {"type": "array"}},
        "steps": [{"id": "s", "component": "core.noop", "inputs": {"v": "{{ inputs.x." + "9" * 5000 + " }}"}}],
    }
    version, _ = Workflow.import_definition(definition, team=team)
    with django_capture_on_commit_callbacks(execute=True):
        run = start_run(version, {"x": [1, 2]})
        execute(step(run, "s"))
    failed = step(run, "s")
    assert failed.status == StepStatus.FAILED
    assert "nothing at" in failed.error
    assert wait_until(lambda: Run.objects.get(pk=run.pk).status == "failed", timeout=2)


def prepared_statements() -> dict[str, tuple[int, int]]:
    """This connection's prepared statements by their first CTE's name: (generic plans used, custom plans made)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return {statement.split()[1]: (generic, custom) for statement, generic, custom in cursor.fetchall()}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL")
def test_the_step_paths_statements_are_prepared_and_planned_once(
    components, team, sent, monkeypatch, django_capture_on_commit_callbacks
):
    as_worker(monkeypatch)
    before = prepared_statements()
    with django_capture_on_commit_callbacks(execute=True):
        run = start(team, chain_definition(12))
        execute(step(run, "s0"))  # its claim, then 12 successes here (the last one's with the run's finish)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    after = prepared_statements()

    def used(name):
        generic, custom = after[name]
        generic_before, custom_before = before.get(name, (0, 0))
        return generic - generic_before, custom - custom_before

    # The claim (WITH claimed AS ...) and the successes (WITH input AS ...): one generic plan each, no
    # plan made again at each execution.
    assert used("claimed") == (1, 0), after
    assert used("input") == (12, 0), after
