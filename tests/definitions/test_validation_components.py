"""Checks against the registry: unknown and disabled components, missing and unknown inputs."""

from tests.definitions.validation_fakes import COMPONENTS, codes, step, workflow
from workflows.definitions.validation import validate


def check(definition, mode="normal"):
    return validate(definition, mode=mode, components=COMPONENTS)


def test_an_unknown_component_with_a_suggestion():
    [issue] = check(workflow(step("a", "text.templat", inputs={"template": "x"})))["issues"]
    assert issue["code"] == "unknown_component"
    assert issue["path"] == "/steps/0/component"
    assert issue["suggestion"] == "did you mean `text.template`?"


def test_an_unknown_component_without_a_close_name():
    [issue] = check(workflow(step("a", "zzz")))["issues"]
    assert issue["suggestion"] is None


def test_a_disabled_component_is_an_error():
    [issue] = check(workflow(step("a", "old.thing")))["issues"]
    assert (issue["code"], issue["severity"], issue["path"]) == ("disabled_component", "error", "/steps/0/component")


def test_a_required_input_left_unset():
    result = check(workflow(step("t", "text.template", inputs={"values": {}}), step("u", "core.sleep")))
    assert [(issue["code"], issue["path"]) for issue in result["issues"]] == [
        ("missing_input", "/steps/0/inputs"),
        ("missing_input", "/steps/1"),
    ]
    assert "template" in result["issues"][0]["message"]


def test_a_required_input_with_a_default_may_be_left_out():
    component = COMPONENTS["json.pick"]
    schema = {**component.input_schema, "properties": {**component.input_schema["properties"], "path": {"default": ""}}}
    components = {**COMPONENTS, "json.pick": component.__class__(**{**component.__dict__, "input_schema": schema})}
    result = validate(workflow(step("p", "json.pick", inputs={"data": 1})), components=components)
    assert result["issues"] == []


def test_an_input_set_by_a_reference_counts_as_set():
    definition = workflow(step("t", "text.template", inputs={"template": "{{ inputs.t }}"}), inputs={"t": {}})
    assert check(definition)["issues"] == []


def test_an_unknown_input_is_a_warning_with_a_suggestion():
    result = check(workflow(step("t", "text.template", inputs={"template": "x", "valeus": {}})))
    [issue] = result["issues"]
    assert (issue["code"], issue["severity"], issue["path"]) == ("unknown_input", "warning", "/steps/0/inputs/valeus")
    assert issue["suggestion"] == "did you mean `values`?"
    assert result["valid"] is True


def test_components_that_take_any_input_get_no_warning():
    assert check(workflow(step("n", "core.noop", inputs={"anything": 1, "at": ["all"]})))["issues"] == []


def test_fake_components_need_only_the_schema_attributes():
    class Minimal:
        input_schema = {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}
        output_schema = {"type": "object", "properties": {"y": {"type": "string"}}}

    result = validate(workflow(step("m", "min", inputs={})), components={"min": Minimal()})
    assert codes(result) == ["missing_input"]
