"""A step that runs another workflow as a child run (real workers): outputs, failure, retry, cancel, depth."""

import pytest
from django.utils import timezone

from tests.execution.test_waits import waiting
from workflows import services
from workflows.execution import waits
from workflows.execution.models import Run, StepRun
from workflows.execution.runs import cancel_run, start_run, wait_for_run
from workflows.models import Workflow

pytestmark = [pytest.mark.slow]


def define(team, slug, steps, inputs=None, outputs=None):
    definition = {"id": slug, "steps": steps, "inputs": inputs or {}, "outputs": outputs or {}}
    version, _ = Workflow.import_definition(definition, team=team)
    return version


def child_workflow(team, slug="child", component="core.noop"):
    step = {"id": "work", "component": component, "inputs": {"value": "{{ inputs.n }}"}}
    return define(team, slug, [step], {"n": {"type": "integer"}}, {"value": "{{ steps.work.outputs.value }}"})


def parent_workflow(team, callee="child", **call):
    steps = [
        {"id": "call", "workflow": callee, "inputs": {"n": 21}, **call},
        {"id": "after", "component": "core.noop", "inputs": {"got": "{{ steps.call.outputs.value }}"}},
    ]
    return define(team, "parent", steps)


def test_the_child_runs_and_its_outputs_become_the_steps(workers, team):
    child_workflow(team)
    run = wait_for_run(start_run(parent_workflow(team), {}), timeout=60)
    assert run.status == "succeeded", run.error
    call = run.steps.get(step_id="call")
    child = Run.objects.get(parent_step=call)
    assert (child.status, child.trigger, child.depth, child.outputs) == ("succeeded", "workflow", 1, {"value": 21})
    assert call.wait["run"] == child.pk and call.component == "core.workflow"
    assert call.outputs == {"value": 21}
    assert run.steps.get(step_id="after").inputs == {"got": 21}


def test_a_failed_child_fails_the_step_and_a_retry_starts_a_new_child(workers, team):
    child_workflow(team, component="test.raise")
    retry = {"max_attempts": 2, "delay": 0, "jitter": False}
    run = wait_for_run(start_run(parent_workflow(team, retry=retry), {}), timeout=60)
    assert run.status == "failed"
    call = run.steps.get(step_id="call")
    children = list(Run.objects.filter(parent_step=call).order_by("pk"))
    assert [child.status for child in children] == ["failed", "failed"]  # one child per attempt
    assert call.attempt == 2 and f"child run {children[1].pk} failed" in call.error
    assert run.steps.get(step_id="after").status == "skipped"


def test_cancelling_the_parent_cancels_the_child(workers, team, owner, login):
    define(team, "child", [{"id": "ask", "component": "core.approval", "inputs": {"message": "?"}}], {"n": {}})
    run = start_run(parent_workflow(team), {})
    call = waiting(run, "call")
    child = Run.objects.get(parent_step=call)
    waiting(child, "ask")
    browser = login(owner)  # linked both ways on the pages
    assert (
        f'For its child run <a href="/runs/{child.pk}/">#{child.pk}</a>'
        in browser.get(f"/runs/{run.pk}/steps/call/").content.decode()
    )
    assert f'of run <a href="/runs/{run.pk}/">#{run.pk}</a>' in browser.get(f"/runs/{child.pk}/").content.decode()
    assert cancel_run(run)
    child.refresh_from_db()
    assert child.status == "cancelled"
    assert StepRun.objects.get(pk=call.pk).status == "cancelled"


def test_a_child_cancelled_on_its_own_fails_the_step(workers, team):
    define(team, "child", [{"id": "ask", "component": "core.approval", "inputs": {"message": "?"}}], {"n": {}})
    run = start_run(parent_workflow(team), {})
    child = Run.objects.get(parent_step=waiting(run, "call"))
    waiting(child, "ask")
    cancel_run(child)
    run = wait_for_run(run, timeout=30)
    assert run.status == "failed"
    assert run.steps.get(step_id="call").error == f"child run {child.pk} was cancelled"


def test_a_child_that_ended_unseen_ends_its_parent_step_at_the_next_sweep(workers, team):
    """A crash between the child's finishing commit and its parent's end: the reaper's sweep ends the step.

    The child's finish is written straight into its row (no hook runs, as after a crash). A child of an
    earlier attempt, ended long ago, is not taken for the one the step waits for now.
    """
    define(team, "child", [{"id": "ask", "component": "core.approval", "inputs": {"message": "?"}}], {"n": {}})
    run = start_run(parent_workflow(team), {})
    call = waiting(run, "call")
    child = Run.objects.get(parent_step=call)
    earlier = Run.objects.create(
        workflow=child.workflow, version=child.version, status="failed", parent_step=call, trigger="workflow"
    )
    assert waits.end_children_lost() == 0  # the earlier child is not awaited; the awaited one still runs
    assert StepRun.objects.get(pk=call.pk).status == "waiting"
    Run.objects.filter(pk=child.pk).update(status="succeeded", outputs={"value": 7}, finished=timezone.now())
    waits.end_children_lost()  # or a worker's reaper pass, whichever comes first
    run = wait_for_run(run, timeout=30)
    assert run.status == "succeeded", run.error
    assert run.steps.get(step_id="call").outputs == {"value": 7}
    assert earlier.pk != child.pk


def test_nesting_deeper_than_the_limit_fails_the_step_that_would_go_deeper(workers, team, settings):
    # The default limit, 10: a chain of 12 workflows, each running the next.
    define(team, "level-11", [{"id": "leaf", "component": "core.noop"}])
    for level in range(10, -1, -1):
        define(team, f"level-{level}", [{"id": "down", "workflow": f"level-{level + 1}"}])
    top = wait_for_run(start_run(Workflow.objects.get(slug="level-0"), {}), timeout=90)
    assert top.status == "failed"
    deepest = Run.objects.filter(workflow__slug="level-10").get()
    assert deepest.depth == 10
    assert "nest deeper than 10" in deepest.steps.get(step_id="down").error
    assert not Run.objects.filter(workflow__slug="level-11").exists()


def test_saving_checks_the_workflows_a_definition_runs(components, team, owner):
    child_workflow(team)
    define(team, "loops-back", [{"id": "again", "workflow": "caller"}])

    def refused(steps) -> list[tuple[str, str]]:
        with pytest.raises(services.DefinitionRefused) as caught:
            services.save_definition({"id": "caller", "steps": steps}, owner)
        return [(issue["code"], issue["path"]) for issue in caught.value.issues]

    assert refused([{"id": "s", "workflow": "nowhere"}]) == [("unknown_workflow", "/steps/0/workflow")]
    assert refused([{"id": "s", "workflow": "child"}]) == [("missing_workflow_input", "/steps/0/inputs")]
    assert refused([{"id": "s", "workflow": "caller"}]) == [("workflow_cycle", "/steps/0/workflow")]
    assert refused([{"id": "s", "workflow": "loops-back"}]) == [("workflow_cycle", "/steps/0/workflow")]
    assert refused([{"id": "s", "workflow": "child", "component": "core.noop", "inputs": {"n": 1}}]) == [
        ("component_and_workflow", "/steps/0/workflow")
    ]
    saved = services.save_definition(
        {"id": "caller", "steps": [{"id": "s", "workflow": "child", "inputs": {"n": 1}}]}, owner
    )
    assert saved.created
