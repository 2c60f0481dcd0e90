"""unknown_reference: missing steps, undeclared inputs, outputs a component doesn't have."""

from tests.definitions.validation_fakes import COMPONENTS, codes, issues_with, step, workflow
from workflows.definitions.validation import validate


def check(definition):
    return validate(definition, components=COMPONENTS)


def test_a_reference_to_a_missing_step():
    definition = workflow(
        step("fetch", "text.template", inputs={"template": "x"}),
        step("use", inputs={"v": "{{ steps.fetsh.outputs.text }}"}),
    )
    [issue] = check(definition)["issues"]
    assert issue["code"] == "unknown_reference"
    assert issue["path"] == "/steps/1/inputs/v"
    assert "fetsh" in issue["message"]
    assert issue["suggestion"] == "did you mean `fetch`?"


def test_a_reference_to_an_undeclared_input():
    definition = workflow(step("a", inputs={"v": ["{{ inputs.nme }}"]}), inputs={"name": {"type": "string"}})
    [issue] = check(definition)["issues"]
    assert (issue["code"], issue["path"]) == ("unknown_reference", "/steps/0/inputs/v/0")
    assert issue["suggestion"] == "did you mean `name`?"


def test_an_input_reference_without_inputs_suggests_declaring_it():
    [issue] = check(workflow(step("a", inputs={"v": "{{ inputs.city }}"})))["issues"]
    assert issue["suggestion"] == "declare it under /inputs/city"


def test_an_output_the_component_does_not_declare():
    definition = workflow(
        step("t", "text.template", inputs={"template": "x"}),
        step("use", inputs={"v": "{{ steps.t.outputs.txt }}"}),
    )
    [issue] = check(definition)["issues"]
    assert issue["code"] == "unknown_reference"
    assert "`text`" in issue["message"]
    assert issue["suggestion"] == "did you mean `text`?"


def test_outputs_of_open_schemas_are_not_checked():
    definition = workflow(
        step("any"),  # core.noop: no declared properties
        step("open", "open.out"),  # additionalProperties: true
        step("use", inputs={"a": "{{ steps.any.outputs.whatever }}", "b": "{{ steps.open.outputs.other }}"}),
    )
    assert check(definition)["issues"] == []


def test_references_in_when_are_checked():
    definition = workflow(step("a", when="steps.ghost.outputs.ok and inputs.flag"), inputs={})
    paths = [(issue["code"], issue["path"]) for issue in check(definition)["issues"]]
    assert paths == [("unknown_reference", "/steps/0/when"), ("unknown_reference", "/steps/0/when")]


def test_malformed_references_are_reported():
    [issue] = check(workflow(step("a", inputs={"v": "{{ input.name }}"})))["issues"]
    assert issue["code"] == "unknown_reference"
    assert "{{ inputs.NAME }}" in issue["suggestion"]


def test_workflow_outputs_are_checked():
    definition = workflow(
        step("t", "text.template", inputs={"template": "x"}),
        outputs={
            "good": "{{ steps.t.outputs.text }}",
            "bad": "{{ steps.u.outputs.text }}",
            "typo": "{{ steps.t.outputs.texts }}",
        },
    )
    paths = {issue["path"] for issue in issues_with(check(definition), "unknown_reference")}
    assert paths == {"/outputs/bad", "/outputs/typo"}


def test_depends_on_unknown_steps():
    definition = workflow(step("first"), step("second", depends_on=["first", "frist", "nobody"]))
    issues = check(definition)["issues"]
    assert [(issue["code"], issue["path"]) for issue in issues] == [
        ("unknown_reference", "/steps/1/depends_on/1"),
        ("unknown_reference", "/steps/1/depends_on/2"),
    ]
    assert issues[0]["suggestion"] == "did you mean `first`?"


def test_a_step_may_read_a_step_written_after_it():
    definition = workflow(step("late", inputs={"v": "{{ steps.early.outputs.x }}"}), step("early"))
    assert check(definition)["issues"] == []


def test_pointer_escaping_in_paths():
    [issue] = check(workflow(step("a", inputs={"a/b": {"c~d": "{{ inputs.zz }}"}})))["issues"]
    assert issue["path"] == "/steps/0/inputs/a~1b/c~0d"


def test_every_problem_in_one_pass():
    definition = workflow(
        step("a", "core.nop", inputs={"x": "{{ inputs.q }}"}),
        step("a", inputs={"y": "{{ steps.zz.outputs.v }}"}),
        step("c", depends_on=["c"]),
    )
    assert sorted(codes(check(definition))) == [
        "cycle",
        "duplicate_step_id",
        "unknown_component",
        "unknown_reference",
        "unknown_reference",
    ]
