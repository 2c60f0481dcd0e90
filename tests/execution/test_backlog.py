"""A worker keeps a short backlog of the ready steps it will run itself (workflows/execution/pace.py)."""

import os
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

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


def test_steps_held_past_the_recheck_time_are_checked_in_one_query(
    components, team, sent, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(runner, "RECHECK_HELD_SECONDS", 0.5)
    with django_capture_on_commit_callbacks(execute=True):
        run = fan_out(team, leaves=6)
    root = StepRun.objects.get(run=run, step_id="root")
    claimed, _ = transitions.claim(root.pk, runner.worker_name(), "task")
    version = compiled(claimed.version_id, claimed.version_hash)
    leaves = tuple(f"l{n}" for n in range(6))
    advance = transitions.succeed(claimed, version, {}, {}, go_on_with=leaves, task_id="task")
    local = runner.Local("task")
    local.keep(advance.continued, {"root": {}})
    asked = []
    still_held = transitions.still_held
    monkeypatch.setattr(transitions, "still_held", lambda claims: (asked.append(len(claims)), still_held(claims))[1])
    time.sleep(0.6)  # all six waited past the recheck time
    with django_capture_on_commit_callbacks(execute=True):
        local.run([])
    assert asked == [6]  # the first to start asked for all of them; the others started without a query
    assert StepAttempt.objects.filter(step_run__run=run, step_run__step_id__in=leaves, status="succeeded").count() == 6


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


def test_with_no_idle_slot_elsewhere_the_backlog_is_longer(components, settings):
    settings.OAWEB_CONTINUE_BACKLOG_SECONDS = 2**-4
    settings.OAWEB_CONTINUE_BACKLOG_ALONE_SECONDS = 2**-2
    pace.observe("quick", 2**-10)
    assert pace.backlog(["quick"] * 1000, slots=2, limit=1000) == 128  # not counted yet: the usual bound
    pace.note_idle_elsewhere(3)
    assert pace.backlog(["quick"] * 1000, slots=2, limit=1000) == 128
    pace.note_idle_elsewhere(0)  # published, they would come back here a broker hop later
    assert pace.backlog(["quick"] * 1000, slots=2, limit=1000) == 512  # 2 slots x 1/4 s
    assert pace.backlog(["quick", "unknown", "quick"], slots=2, limit=10) == 1  # still: unknown, not kept
    settings.OAWEB_CONTINUE_BACKLOG_SECONDS = 0  # off is off, lone worker or not
    assert pace.backlog(["quick"] * 5, slots=2, limit=10) == 0


@pytest.mark.parametrize("idle_elsewhere", [1, 0])
def test_a_lone_worker_keeps_what_another_could_have_started_sooner(
    components, team, sent, idle_elsewhere, django_capture_on_commit_callbacks
):
    pace.note_idle_elsewhere(idle_elsewhere)
    pace.observe("core.noop", 0.001)
    pace.observe("core.sleep", 0.02)  # 10 leaves beyond the 2 slots: 0.2 s, over 2 x 0.05 s, under 2 x 0.25 s
    with django_capture_on_commit_callbacks(execute=True):
        run = fan_out(team, leaf="core.sleep")
        execute_root(run)
    published = set(StepRun.objects.filter(pk__in=sent).values_list("step_id", flat=True)) - {"root"}
    if idle_elsewhere:
        assert published  # another worker could start some of them at once
    else:
        assert not published, published
    assert not running_steps.snapshot()


def test_the_idle_slots_elsewhere_are_those_of_other_live_workers_on_shared_queues(db, monkeypatch):
    monkeypatch.setitem(workers.identity, "queues", ["default", "mail"])
    now = timezone.now()
    me = f"{socket.gethostname()}:{os.getpid()}"

    def worker(name, queues, concurrency, active, seen=now):
        workers.Worker.objects.create(
            name=name,
            hostname="h",
            pid=1,
            queues=queues,
            concurrency=concurrency,
            active_steps=active,
            last_heartbeat=seen,
        )

    worker(me, ["default"], 8, 0)  # this process: not elsewhere
    worker("a:1", ["default"], 8, 3)  # 5 idle
    worker("b:1", ["mail", "gpu"], 4, 6)  # busier than its slots (held steps count): 0
    worker("c:1", ["gpu"], 8, 0)  # serves none of this worker's queues
    worker("d:1", ["default"], 8, 0, seen=now - timedelta(hours=1))  # lost
    worker("e:1", ["mail"], 2, 1)  # 1 idle
    assert workers.Worker.idle_slots_elsewhere() == 6


def test_held_steps_start_in_the_slot_of_a_step_that_returned_without_the_deliverys_thread(
    components, team, sent, most_at_once, monkeypatch, django_capture_on_commit_callbacks
):
    pace.observe("core.noop", 0.001)
    begun = []
    begin = runner.Local.begin
    monkeypatch.setattr(
        runner.Local,
        "begin",
        lambda self, claimed, upstream: (begun.append(claimed.step_id), begin(self, claimed, upstream)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = fan_out(team)
        execute_root(run)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    # The root and the first leaves (two slots) start in the delivery's thread; most leaves start in the
    # call thread whose call returned, handed its slot at once.
    assert len(begun) < LEAVES // 2, begun
    assert most_at_once[0] <= 2
    assert StepAttempt.objects.filter(step_run__run=run, status="succeeded").count() == LEAVES + 2


def test_the_longest_chain_starts_first(components, team, sent, django_capture_on_commit_callbacks):
    pace.observe("core.noop", 0.001)
    steps = [{"id": "root", "component": "core.noop"}]
    steps += [{"id": f"leaf{n}", "component": "core.noop", "depends_on": ["root"]} for n in range(4)]
    # Last in the definition, first by rank: three steps after it.
    steps.append({"id": "chain0", "component": "core.noop", "depends_on": ["root"]})
    steps += [{"id": f"chain{n}", "component": "core.noop", "depends_on": [f"chain{n - 1}"]} for n in (1, 2, 3)]
    version, _ = Workflow.import_definition({"id": "backlog-rank", "steps": steps}, team=team)
    ranks = pace.ranks(compiled(version.pk, version.content_hash, version.definition))
    assert ranks["chain0"] == pytest.approx(0.004) and ranks["leaf0"] == pytest.approx(0.001)
    with django_capture_on_commit_callbacks(execute=True):
        run = start_run(version, {})
        execute_root(run)
    started = dict(StepAttempt.objects.filter(step_run__run=run).values_list("step_run__step_id", "started"))
    assert started["chain0"] <= min(started[f"leaf{n}"] for n in range(4))


def test_ranks_follow_each_steps_own_mean_here(components, team):
    steps = [
        {"id": "a", "component": "core.noop"},
        {"id": "slow", "component": "core.noop", "depends_on": ["a"]},
        {"id": "fast1", "component": "core.noop", "depends_on": ["a"]},
        {"id": "fast2", "component": "core.noop", "depends_on": ["fast1"]},
        {"id": "end", "component": "core.noop", "depends_on": ["slow", "fast2"]},
    ]
    version, _ = Workflow.import_definition({"id": "backlog-means", "steps": steps}, team=team)
    pace.observe("elsewhere", 0.5, (version.content_hash, "slow"))
    pace.observe("elsewhere", 0.01, (version.content_hash, "fast1"))
    ranks = pace.ranks(compiled(version.pk, version.content_hash, version.definition))
    moment = pace.UNKNOWN_STEP_SECONDS  # never run here, nor their component
    assert ranks["end"] == pytest.approx(moment)
    assert ranks["slow"] == pytest.approx(0.5 + moment)  # one slow step outranks two quick ones in a row
    assert ranks["fast1"] == pytest.approx(0.01 + 2 * moment)
    assert ranks["a"] == pytest.approx(moment + 0.5 + moment)
