"""type_mismatch: a value or a whole reference whose declared type can't fit the target input."""

import pytest

from tests.definitions.validation_fakes import COMPONENTS, codes, step, workflow
from workflows.definitions.validation import validate


def check(definition):
    return validate(definition, components=COMPONENTS)


def sleep_for(value, inputs=None, *extra):
    return workflow(*extra, step("wait", "core.sleep", inputs={"seconds": value}), inputs=inputs or {})


def test_a_workflow_input_of_the_wrong_type():
    result = check(sleep_for("{{ inputs.name }}", {"name": {"type": "string"}}))
    [issue] = result["issues"]
    assert issue["code"] == "type_mismatch"
    assert issue["path"] == "/steps/0/inputs/seconds"
    assert "inputs.name" in issue["message"] and "number" in issue["message"]


def test_a_step_output_of_the_wrong_type():
    definition = sleep_for("{{ steps.t.outputs.text }}", None, step("t", "text.template", inputs={"template": "x"}))
    assert codes(check(definition)) == ["type_mismatch"]


def test_an_integer_fits_a_number():
    definition = sleep_for("{{ steps.c.outputs.count }}", None, step("c", "math.count"))
    assert check(definition)["issues"] == []


def test_a_number_may_fit_an_integer():
    definition = workflow(step("c", "math.count", inputs={"limit": "{{ inputs.n }}"}), inputs={"n": {"type": "number"}})
    assert check(definition)["issues"] == []


def test_a_type_list_fits_when_one_type_fits():
    assert check(sleep_for("{{ inputs.n }}", {"n": {"type": ["string", "integer"]}}))["issues"] == []
    assert codes(check(sleep_for("{{ inputs.n }}", {"n": {"type": ["string", "null"]}}))) == ["type_mismatch"]


def test_the_reference_path_follows_declared_properties_and_items():
    counted = step("c", "math.count")
    assert check(sleep_for("{{ steps.c.outputs.stats.mean }}", None, counted))["issues"] == []
    assert codes(check(sleep_for("{{ steps.c.outputs.items.0 }}", None, counted))) == ["type_mismatch"]
    # A key the schema doesn't describe: type unknown, nothing reported.
    assert check(sleep_for("{{ steps.c.outputs.stats.other }}", None, counted))["issues"] == []


@pytest.mark.parametrize(
    "source",
    [
        {"description": "no type"},
        {"anyOf": [{"type": "string"}]},
    ],
)
def test_unknown_source_types_are_not_guessed(source):
    assert check(sleep_for("{{ inputs.x }}", {"x": source}))["issues"] == []


def test_an_untyped_target_accepts_anything():
    definition = workflow(
        step("p", "json.pick", inputs={"data": "{{ inputs.s }}", "path": "a"}), inputs={"s": {"type": "string"}}
    )
    assert check(definition)["issues"] == []


@pytest.mark.parametrize(
    "value, fits", [(1, True), (2.5, True), ("3", False), (True, False), (None, False), ([1], False)]
)
def test_literal_values_are_checked_too(value, fits):
    assert (codes(check(sleep_for(value))) == []) is fits


def test_an_interpolated_string_is_a_string():
    assert codes(check(sleep_for("{{ inputs.n }} seconds", {"n": {"type": "integer"}}))) == ["type_mismatch"]


def test_a_float_literal_with_no_fraction_fits_an_integer():
    assert check(workflow(step("c", "math.count", inputs={"limit": 3.0})))["issues"] == []
    assert codes(check(workflow(step("c", "math.count", inputs={"limit": 3.5})))) == ["type_mismatch"]
