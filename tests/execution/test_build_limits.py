"""A step whose output or inputs would grow past their limit fails with the reason, as soon as it passes it.

Run by whatever executes steps in this mode (the `workers` fixture), with
the default limits: OAWEB_MAX_OUTPUT_BYTES (1 MiB) for text.template's
text, OAWEB_MAX_INPUT_BYTES (8 MiB) for a step's inputs once references are
filled in.
"""

from tests.conftest import run_definition

BIG = "x" * 1_000_000


def repeating(step: dict) -> dict:
    return {"id": "repeats", "inputs": {"big": {"type": "string"}}, "steps": [step], "outputs": {}}


def test_a_template_repeating_a_large_input_fails_with_the_size_message(workers):
    step = {
        "id": "t",
        "component": "text.template",
        "inputs": {"template": "{a}" * 200, "values": {"a": "{{ inputs.big }}"}},
    }

    run = run_definition(repeating(step), inputs={"big": BIG})

    assert run.status == "failed"
    error = run.steps.get(step_id="t").error
    assert "output would exceed 1048576 bytes (OAWEB_MAX_OUTPUT_BYTES)" in error, error


def test_inputs_repeating_a_large_input_fail_before_the_component_is_called(workers):
    step = {
        "id": "n",
        "component": "core.noop",
        "inputs": {"text": "{{ inputs.big }}" * 200},
        "retry": {"max_attempts": 3, "delay": 0},
    }

    run = run_definition(repeating(step), inputs={"big": BIG})

    assert run.status == "failed"
    step_run = run.steps.get(step_id="n")
    assert "inputs would exceed 8388608 bytes once references are filled in (OAWEB_MAX_INPUT_BYTES)" in step_run.error
    assert step_run.attempt == 1  # failed at once: trying again builds the same thing
    assert step_run.outputs is None


def test_a_template_under_the_limit_still_works(workers):
    step = {"id": "t", "component": "text.template", "inputs": {"template": "{a}", "values": {"a": "{{ inputs.big }}"}}}

    run = run_definition(repeating(step), inputs={"big": BIG})

    assert run.status == "succeeded", run.error
    assert run.steps.get(step_id="t").outputs == {"text": BIG}


def test_run_outputs_repeating_a_large_output_fail_the_run_with_the_reason(workers):
    definition = repeating({"id": "n", "component": "core.noop", "inputs": {"text": "{{ inputs.big }}"}})
    definition["outputs"] = {f"copy{number}": "{{ steps.n.outputs.text }}" for number in range(20)}

    run = run_definition(definition, inputs={"big": BIG})

    assert run.status == "failed"
    assert run.error == "outputs: over 8388608 bytes once references are filled in", run.error
    assert run.outputs is None
