"""Beat's task starts a run of the latest version with the schedule's inputs; a refusal is recorded."""

from tests.conftest import noop_definition
from tests.triggers.helpers import make_schedule
from workflows.execution.models import Run
from workflows.execution.runs import wait_for_run
from workflows.models import Workflow
from workflows.triggers.models import Schedule
from workflows.triggers.schedules import start_scheduled_run


def test_the_task_starts_a_run_of_the_latest_version_with_the_schedule_inputs(workers, make_workflow, owner):
    workflow = make_workflow()
    newer = noop_definition(steps=3)
    newer["version"] = "2.0.0"
    latest, _ = Workflow.import_definition(newer, team=workflow.team)
    schedule = make_schedule(workflow, owner, inputs={"greeting": "good morning"})

    run_id = start_scheduled_run(schedule.pk)

    run = wait_for_run(Run.objects.get(pk=run_id), timeout=60)
    assert run.status == "succeeded", run.error
    assert run.trigger == "schedule"
    assert run.version == latest
    assert run.inputs == {"greeting": "good morning"}
    assert run.outputs == {"value": "good morning"}
    assert run.created_by == owner
    schedule.refresh_from_db()
    assert schedule.last_run_id == run.pk
    assert schedule.last_fired is not None
    assert schedule.last_error == ""


def test_a_refused_run_is_recorded_on_the_schedule(workers, make_workflow):
    workflow = make_workflow()
    schedule = make_schedule(workflow, inputs={"greeting": "hello"})
    # The workflow changed after the schedule was saved: its input is now a number.
    changed = noop_definition()
    changed["inputs"] = {"greeting": {"type": "integer"}}
    Workflow.import_definition(changed, team=workflow.team)

    assert start_scheduled_run(schedule.pk) is None

    schedule.refresh_from_db()
    assert "greeting" in schedule.last_error
    assert schedule.last_fired is not None
    assert schedule.last_run is None
    assert not Run.objects.exists()


def test_a_disabled_schedule_starts_nothing(workers, make_workflow):
    schedule = make_schedule(make_workflow(), enabled=False)
    assert start_scheduled_run(schedule.pk) is None
    assert not Run.objects.exists()
    assert Schedule.objects.get(pk=schedule.pk).last_fired is None
