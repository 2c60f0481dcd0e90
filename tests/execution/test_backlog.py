"""A worker keeps a short backlog of the ready steps it will run itself (workflows/execution/pace.py)."""

import threading

import pytest

from oaweb.celery import app
from registry.context import StepContext
from workflows.execution import embedded, heartbeat, pace, runner, transitions, workers
from workflows.execution.heartbeat import running_steps
from workflows.execution.messages import StepMessage
from workflows.execution.models import StepAttempt, StepRun
from workflows.execution.plans import compiled
from workflows.execution.runs import cancel_run, start_run
from workflows.execution.status import StepStatus
from workflows.models import Workflow

LEAVES = 12


@pytest.fixture(autouse=True)
def a_threads_worker_of_two_slots(monkeypatch):
    """This test process acts as a worker of 2 thread slots; nothing else runs steps."""
    monkeypatch.setattr(embedded, "ensure_embedded_worker", lambda: None)
    monkeypatch.setattr(heartbeat, "ensure_maintenance_thread", lambda: None)
    monkeypatch.setitem(workers.identity, "queues", ["default"])
    monkeypatch.setitem(workers.identity, "pool", "threads")
    monkeypatch.setitem(workers.identity, "concurrency", 2)
    pace.forget()
    yield
    pace.forget()


@pytest.fixture
def sent(monkeypatch):
    published = []
    monkeypatch.setattr(app, "send_task", lambda name, args, kwargs, **options: published.append(args[0]))
    return published


@pytest.fixture
def most_at_once(monkeypatch):
    """The most steps this process ran at the same time, as the slots count them."""
    seen = [0]
    add = running_steps.add

    def counting_add(*args):
        add(*args)
        seen[0] = max(seen[0], running_steps.count())

    monkeypatch.setattr(running_steps, "add", counting_add)
    return seen


def fan_out(team, leaves=LEAVES, leaf="core.noop"):
    steps = [{"id": "root", "component": "core.noop"}]
    steps += [{"id": f"l{n}", "component": leaf, "depends_on": ["root"]} for n in range(leaves)]
    steps.append({"id": "join", "component": "core.noop", "depends_on": [f"l{n}" for n in range(leaves)]})
    version, _ = Workflow.import_definition({"id": "backlog-fan", "steps": steps}, team=team)
    return start_run(version, {})


def execute_root(run):
    root = StepRun.objects.get(run=run, step_id="root")
    runner.execute(StepMessage(root.pk, component=root.component))
    return root


def test_short_known_steps_are_kept_and_run_here_within_the_slots(
    components, team, sent, most_at_once, django_capture_on_commit_callbacks
):
    pace.observe("core.noop", 0.001)
    with django_capture_on_commit_callbacks(execute=True):
        run = fan_out(team)
        root = execute_root(run)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert sent == [root.pk]  # every leaf and the join ran here: no broker hop
    assert most_at_once[0] <= 2  # the backlog waits for slots: never more than the concurrency at once
    assert StepAttempt.objects.filter(step_run__run=run, status="succeeded").count() == LEAVES + 2
    assert not running_steps.snapshot()  # nothing left held


def test_a_component_never_run_here_is_published_beyond_the_free_slots(
    components, team, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = fan_out(team, leaf="core.sleep")
        execute_root(run)
    published = sorted(StepRun.objects.filter(pk__in=sent).values_list("step_id", flat=True))
    # The root freed its slot and the other was free: two leaves ran here, the rest went to the broker.
    assert len(published) == 1 + LEAVES - 2 and "root" in published
    assert not running_steps.snapshot()  # the two run here (failed: core.sleep wants seconds) are not left held


def test_the_backlog_is_bounded_by_expected_time(components, settings):
    settings.OAWEB_CONTINUE_BACKLOG_SECONDS = 2**-4  # binary fractions: sums without rounding
    pace.observe("slow", 3 * 2**-6)
    pace.observe("quick", 2**-10)
    assert pace.backlog(["quick"] * 500, slots=2, limit=1000) == 128  # 2 slots x 1/16 s of 1/1024 s steps
    assert pace.backlog(["quick"] * 500, slots=2, limit=30) == 30
    assert pace.backlog(["slow", "slow", "slow"], slots=2, limit=10) == 2
    assert pace.backlog(["quick", "unknown", "quick"], slots=2, limit=10) == 1
    settings.OAWEB_CONTINUE_BACKLOG_SECONDS = 0
    assert pace.backlog(["quick"] * 5, slots=2, limit=10) == 0


def test_held_steps_of_a_run_cancelled_while_they_waited_never_start(
    components, team, sent, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(runner, "RECHECK_HELD_SECONDS", 0.0)  # every held step is checked before it starts
    with django_capture_on_commit_callbacks(execute=True):
        run = fan_out(team, leaves=3)
    root = StepRun.objects.get(run=run, step_id="root")
    claimed, _ = transitions.claim(root.pk, runner.worker_name(), "task")
    version = compiled(claimed.version_id, claimed.version_hash)
    advance = transitions.succeed(claimed, version, {}, {}, go_on_with=("l0", "l1", "l2"), task_id="task")
    assert len(advance.continued) == 3
    local = runner.Local("task")
    local.keep(advance.continued, {"root": {}})
    assert set(running_steps.snapshot()) == {child.step_run_id for child in advance.continued}
    cancel_run(run)
    with django_capture_on_commit_callbacks(execute=True):
        local.run([])
    leaves = StepRun.objects.filter(run=run, step_id__startswith="l")
    assert {leaf.status for leaf in leaves} == {StepStatus.CANCELLED}
    assert not StepAttempt.objects.filter(step_run__in=leaves, status="succeeded").exists()
    assert not running_steps.snapshot()


def test_held_steps_start_when_a_slot_frees_elsewhere_not_after_their_own_long_step(
    components, team, sent, django_capture_on_commit_callbacks
):
    pace.observe("core.noop", 0.001)
    pace.observe("core.sleep", 0.001)  # expected short: kept, though this one sleeps
    steps = [{"id": "root", "component": "core.noop"}]
    steps.append({"id": "slow", "component": "core.sleep", "inputs": {"seconds": 1.5}, "depends_on": ["root"]})
    steps += [{"id": f"l{n}", "component": "core.noop", "depends_on": ["root"]} for n in range(3)]
    version, _ = Workflow.import_definition({"id": "backlog-wake", "steps": steps}, team=team)
    other = StepContext()
    running_steps.add(-99, 1, other)  # another delivery's step holds the second slot
    threading.Timer(0.2, running_steps.remove, args=[-99]).start()
    with django_capture_on_commit_callbacks(execute=True):
        run = start_run(version, {})
        execute_root(run)
    rows = {row.step_id: row for row in StepRun.objects.filter(run=run)}
    assert rows["slow"].status == rows["l2"].status == "succeeded"
    # Woken when the other slot freed: the held leaves ran beside the sleep, not after it.
    assert max(rows[f"l{n}"].finished for n in range(3)) < rows["slow"].finished
    assert sent == [rows["root"].pk]
