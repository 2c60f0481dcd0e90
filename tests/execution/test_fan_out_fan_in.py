"""Parallel branches and a join, with inputs resolved from upstream outputs."""

from tests.conftest import run_definition
from workflows.execution.models import StepAttempt
from workflows.execution.status import AttemptStatus


def fan_out_definition(width):
    steps = [{"id": "start", "component": "core.noop", "inputs": {"word": "{{ inputs.word }}"}}]
    for number in range(width):
        steps.append(
            {
                "id": f"branch{number}",
                "component": "text.template",
                "inputs": {"template": "{word}-{n}", "values": {"word": "{{ steps.start.outputs.word }}", "n": number}},
            }
        )
    steps.append(
        {
            "id": "join",
            "component": "core.noop",
            "inputs": {"parts": [f"{{{{ steps.branch{n}.outputs.text }}}}" for n in range(width)]},
        }
    )
    return {
        "id": f"fan-{width}",
        "name": "Fan out",
        "inputs": {"word": {"type": "string", "default": "hi"}},
        "steps": steps,
        "outputs": {"parts": "{{ steps.join.outputs.parts }}"},
    }


def test_branches_run_and_join_collects_every_output(workers):
    run = run_definition(fan_out_definition(5), {"word": "x"})

    assert run.status == "succeeded", run.error
    assert run.outputs == {"parts": [f"x-{n}" for n in range(5)]}
    assert run.steps.filter(status="succeeded").count() == 7
    join = run.steps.get(step_id="join")
    assert join.attempt == 1
    assert StepAttempt.objects.filter(step_run=join, status=AttemptStatus.SUCCEEDED).count() == 1


def test_join_runs_once_when_200_parents_finish_together(workers):
    run = run_definition(fan_out_definition(200), timeout=180)

    assert run.status == "succeeded", run.error
    join = run.steps.get(step_id="join")
    assert join.attempt == 1
    assert StepAttempt.objects.filter(step_run=join).count() == 1
    assert len(run.outputs["parts"]) == 200


def test_step_timestamps_and_worker_are_recorded(workers):
    run = run_definition(fan_out_definition(2))

    for step in run.steps.all():
        assert step.enqueued and step.started and step.finished, step.step_id
        assert step.enqueued <= step.started <= step.finished
        assert step.worker
    assert run.started <= run.finished
