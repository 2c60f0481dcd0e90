"""A component that misbehaves fails its step with a clear error, never the worker."""

import pytest

from tests.conftest import run_definition


@pytest.mark.parametrize(
    ("component", "expected"),
    [
        ("test.raise", "ComponentError: boom"),
        ("test.not_json", "not JSON"),
        ("test.not_a_dict", "returned list, expected an object"),
        ("test.bad_output", "output schema"),
    ],
)
def test_misbehaving_component_fails_its_step_with_a_clear_error(workers, component, expected):
    definition = {"id": f"faulty-{component.replace('.', '-')}", "steps": [{"id": "s", "component": component}]}
    run = run_definition(definition)

    step = run.steps.get()
    assert run.status == "failed"
    assert step.status == "failed"
    assert expected in step.error


def test_the_worker_still_runs_steps_after_a_faulty_one(workers):
    run_definition({"id": "faulty", "steps": [{"id": "s", "component": "test.not_json"}]})
    run = run_definition({"id": "fine", "steps": [{"id": "s", "component": "core.noop", "inputs": {"a": 1}}]})

    assert run.status == "succeeded"
    assert run.steps.get().outputs == {"a": 1}


def test_inputs_that_break_the_components_schema_fail_the_step_clearly(workers):
    definition = {
        "id": "bad-inputs",
        "inputs": {"seconds": {"type": "string", "default": "soon"}},
        "steps": [{"id": "s", "component": "core.sleep", "inputs": {"seconds": "{{ inputs.seconds }}"}}],
    }
    from workflows.execution.runs import start_run, wait_for_run
    from workflows.models import Team, Workflow

    version, _ = Workflow.import_definition(definition, team=Team.default())
    run = wait_for_run(start_run(version))

    step = run.steps.get()
    assert step.status == "failed" and step.attempt == 1
    assert "inputs do not match core.sleep's input schema" in step.error


def test_schema_defaults_are_filled_in_before_the_component_runs(workers):
    run = run_definition(
        {
            "id": "defaults",
            "steps": [{"id": "s", "component": "json.pick", "inputs": {"data": {"a": 1}, "path": "a"}}],
            "outputs": {"value": "{{ steps.s.outputs.value }}"},
        }
    )

    assert run.status == "succeeded" and run.outputs == {"value": 1}
