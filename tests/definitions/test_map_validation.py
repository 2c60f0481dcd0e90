"""Map steps (issue 19) in the validator: `map`, its options, `{{ item }}` / `{{ index }}`, a map's outputs.

The messages of the first example of each code are docs/workflow-format.md's, word for word.
"""

import pytest

from tests.definitions.validation_fakes import COMPONENTS, closed, codes, fake_component, issues_with, step, workflow
from workflows.definitions.calls import check_calls
from workflows.definitions.validation import validate

# A sub-workflow step calls core.workflow (an object of the child's outputs, nothing more declared).
WITH_WORKFLOWS = COMPONENTS | {"core.workflow": fake_component("core.workflow", outputs={"type": "object"})}

DOCUMENTS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"title": {"type": "string"}, "pages": {"type": "integer"}},
    },
}


def check(definition, components=COMPONENTS):
    return validate(definition, components=components)


def counted():
    """math.count: its `items` output is declared as a list of strings."""
    return step("c", "math.count")


def each(map_text="{{ steps.c.outputs.items }}", component="text.template", inputs=None, step_id="m", **fields):
    inputs = {"template": "{t}", "values": {"t": "{{ item }}"}} if inputs is None else inputs
    return step(step_id, component, map=map_text, inputs=inputs, **fields)


def the_issue(result, code) -> dict:
    [issue] = issues_with(result, code)
    return issue


# --- valid maps ------------------------------------------------------------------------------


def test_a_map_over_a_step_output_with_its_options_is_valid():
    definition = workflow(
        counted(),
        each(concurrency=2, allow_failures=True, retry={"max_attempts": 3}),
        step("after", "core.noop", inputs={"all": "{{ steps.m.outputs.results }}"}),
        outputs={"texts": "{{ steps.m.outputs.results }}", "errors": "{{ steps.m.outputs.errors }}"},
    )
    assert check(definition)["issues"] == []


def test_a_map_over_a_run_input_reads_item_keys_and_index_anywhere_in_its_inputs():
    inputs = {"template": "{n}: {t}", "values": {"n": "{{ index }}", "t": "{{ item.title }}", "deep": ["{{ item }}"]}}
    definition = workflow(each("{{ inputs.documents }}", inputs=inputs), inputs={"documents": DOCUMENTS})
    assert check(definition)["issues"] == []


def test_the_map_reference_may_have_key_parts_and_spaces():
    definition = workflow(
        step("p", "json.pick", inputs={"data": {}, "path": "a"}),
        each("{{steps.p.outputs.value.documents}}"),
    )
    assert check(definition)["issues"] == []


# --- map_not_reference -------------------------------------------------------------------------


def test_text_around_the_reference_is_map_not_reference():
    definition = workflow(
        step("each", "text.template", map="docs: {{ inputs.documents }}", inputs={"template": "{t}"}),
        inputs={"documents": {"type": "array"}},
    )
    result = check(definition)
    assert result["issues"] == [
        {
            "code": "map_not_reference",
            "severity": "error",
            "message": "`map` must be one reference to a list, not `docs: {{ inputs.documents }}`",
            "path": "/steps/0/map",
            "suggestion": "write only the reference: `{{ inputs.documents }}`",
        }
    ]
    assert not result["valid"]


@pytest.mark.parametrize("text", ["documents", "{{ inputs.a }}{{ inputs.b }}", "{{ inputs.a }} and {{ inputs.b }}"])
def test_plain_text_or_several_references_are_map_not_reference(text):
    definition = workflow(each(text), inputs={"a": {"type": "array"}, "b": {"type": "array"}})
    issue = the_issue(check(definition), "map_not_reference")
    assert issue["path"] == "/steps/0/map"
    assert "inputs.NAME" in issue["suggestion"]  # no single reference to offer: how to write one
    assert codes(check(definition)) == ["map_not_reference"]


def test_references_in_a_map_that_is_not_one_are_still_checked():
    result = check(workflow(each("{{ inputs.nope }}, {{ steps.gone.outputs.x }}")))
    assert codes(result) == ["map_not_reference", "unknown_reference", "unknown_reference"]


def test_a_misspelt_reference_in_map_is_reported_once_as_unknown_reference():
    result = check(workflow(each("{{ input.documents }}"), inputs={"documents": {"type": "array"}}))
    issue = the_issue(result, "unknown_reference")
    assert codes(result) == ["unknown_reference"]
    assert issue["path"] == "/steps/0/map"
    assert "is not a reference" in issue["message"]


# --- the map's reference: unknown names, parents, cycles ------------------------------------------


@pytest.mark.parametrize(
    "text, said",
    [
        ("{{ inputs.documnets }}", "declares no input `documnets`"),
        ("{{ steps.gone.outputs.items }}", "there is no step `gone`"),
        ("{{ steps.c.outputs.itemz }}", "has no output `itemz`"),
    ],
)
def test_the_map_reference_points_at_something(text, said):
    definition = workflow(counted(), each(text), inputs={"documents": DOCUMENTS})
    issue = the_issue(check(definition), "unknown_reference")
    assert issue["path"] == "/steps/1/map"
    assert said in issue["message"]


def test_a_cycle_through_map_is_found():
    definition = workflow(
        each("{{ steps.later.outputs.results }}", step_id="first"),
        each("{{ steps.first.outputs.results }}", step_id="later"),
    )
    issue = the_issue(check(definition), "cycle")
    assert issue["message"] == "steps form a cycle: first → later → first"
    assert issue["path"] == "/steps/0"


def test_a_map_over_its_own_outputs_depends_on_itself():
    issue = the_issue(check(workflow(each("{{ steps.m.outputs.results }}"))), "cycle")
    assert "itself" in issue["message"]


def test_a_map_over_a_step_written_after_it_is_no_cycle():
    assert check(workflow(each(), counted()))["issues"] == []


def test_a_credential_is_no_list_to_map_over():
    issue = the_issue(check(workflow(each("{{ secrets.token }}"))), "misplaced_secret")
    assert issue["path"] == "/steps/0/map"


def test_a_map_that_is_not_text_is_a_schema_error_only():
    result = check(workflow(step("m", "core.noop", map=["a"])))
    assert set(codes(result)) == {"schema"}


# --- map_not_list -----------------------------------------------------------------------------


def test_a_run_input_declared_as_an_object_is_map_not_list():
    definition = workflow(
        step("each", "text.template", map="{{ inputs.documents }}", inputs={"template": "{t}"}),
        inputs={"documents": {"type": "object"}},
    )
    assert check(definition)["issues"] == [
        {
            "code": "map_not_list",
            "severity": "error",
            "message": "`map` needs a list, but `inputs.documents` is declared as object",
            "path": "/steps/0/map",
            "suggestion": "name a list inside it: `{{ inputs.documents.KEY }}`",
        }
    ]


def test_a_step_output_declared_as_a_number_is_map_not_list():
    issue = the_issue(check(workflow(counted(), each("{{ steps.c.outputs.count }}"))), "map_not_list")
    assert issue["message"] == "`map` needs a list, but `steps.c.outputs.count` is declared as integer"
    assert issue["path"] == "/steps/1/map"
    assert issue["suggestion"] is None


def test_a_key_path_is_followed_to_the_declared_type():
    issue = the_issue(check(workflow(counted(), each("{{ steps.c.outputs.stats.mean }}"))), "map_not_list")
    assert "number" in issue["message"]


@pytest.mark.parametrize(
    "schema", [{}, {"description": "anything"}, {"type": ["array", "null"]}, {"anyOf": [{"type": "string"}]}]
)
def test_a_list_or_an_undeclared_type_is_let_through(schema):
    assert check(workflow(each("{{ inputs.xs }}"), inputs={"xs": schema}))["issues"] == []


def test_an_untyped_step_output_is_let_through():
    definition = workflow(step("p", "json.pick", inputs={"data": {}, "path": "a"}), each("{{ steps.p.outputs.value }}"))
    assert check(definition)["issues"] == []


# --- item_outside_map ---------------------------------------------------------------------------


def test_item_in_a_step_without_map_is_item_outside_map():
    greet = step("greet", "text.template", inputs={"template": "Hello, {n}!", "values": {"n": "{{ item.name }}"}})
    assert check(workflow(greet))["issues"] == [
        {
            "code": "item_outside_map",
            "severity": "error",
            "message": "`item.name`: only the inputs of a step with `map` have an item and an index",
            "path": "/steps/0/inputs/values/n",
            "suggestion": "add `map` (the list to run over)",
        }
    ]


def test_index_in_a_step_without_map_is_item_outside_map():
    result = check(workflow(step("s", "core.sleep", inputs={"seconds": "{{ index }}"})))
    assert codes(result) == ["item_outside_map"]  # and no type_mismatch on top: there is no index there


@pytest.mark.parametrize("when", ["{{ item }} == 'a'", "{{ index }} > 2", "steps.c.outputs.count > 0 and {{ item.x }}"])
def test_item_in_a_maps_when_is_item_outside_map(when):
    issue = the_issue(check(workflow(counted(), each(when=when))), "item_outside_map")
    assert issue["path"] == "/steps/1/when"
    assert "whole" in issue["message"]


def test_item_in_a_plain_steps_when_is_item_outside_map():
    issue = the_issue(check(workflow(step("a", when="{{ item }}"))), "item_outside_map")
    assert issue["path"] == "/steps/0/when"


@pytest.mark.parametrize("text", ["{{ item }}", "{{ item.list }}", "{{ index }}"])
def test_item_in_map_itself_is_item_outside_map(text):
    result = check(workflow(each(text)))
    issue = the_issue(result, "item_outside_map")
    assert issue["path"] == "/steps/0/map"
    assert "list the items come from" in issue["message"]
    assert codes(result) == ["item_outside_map"]


def test_item_in_the_workflows_outputs_is_item_outside_map():
    result = check(workflow(counted(), each(), outputs={"last": "{{ item }}", "at": "n={{ index }}"}))
    assert [issue["path"] for issue in issues_with(result, "item_outside_map")] == ["/outputs/last", "/outputs/at"]
    assert "results" in issues_with(result, "item_outside_map")[0]["suggestion"]


def test_index_has_no_keys():
    issue = the_issue(check(workflow(counted(), each(inputs={"template": "{{ index.x }}"}))), "unknown_reference")
    assert issue["path"] == "/steps/1/inputs/template"
    assert "`index.x`" in issue["message"]


# --- map_option_without_map ----------------------------------------------------------------------


def test_concurrency_without_map_is_map_option_without_map():
    greet = step("greet", "text.template", concurrency=2, inputs={"template": "Hello!"})
    assert check(workflow(greet))["issues"] == [
        {
            "code": "map_option_without_map",
            "severity": "error",
            "message": "`concurrency` only applies to a step with `map`",
            "path": "/steps/0/concurrency",
            "suggestion": "add `map` (the list to run over), or remove `concurrency`",
        }
    ]


@pytest.mark.parametrize("value", [True, False])
def test_allow_failures_without_map_is_map_option_without_map(value):
    issue = the_issue(check(workflow(step("a", allow_failures=value))), "map_option_without_map")
    assert issue["path"] == "/steps/0/allow_failures"


def test_map_options_beside_map_are_fine():
    assert check(workflow(counted(), each(concurrency=1, allow_failures=False)))["issues"] == []


# --- types through item and index -------------------------------------------------------------------


def test_an_item_of_the_wrong_type_is_a_type_mismatch():
    issue = the_issue(
        check(workflow(counted(), each(component="core.sleep", inputs={"seconds": "{{ item }}"}))), "type_mismatch"
    )
    assert issue["message"] == "`item` is declared as string but input `seconds` of `core.sleep` expects number"
    assert issue["path"] == "/steps/1/inputs/seconds"


def test_item_keys_type_through_the_lists_items():
    def sleep_on(value):
        return workflow(
            each("{{ inputs.documents }}", "core.sleep", {"seconds": value}), inputs={"documents": DOCUMENTS}
        )

    assert check(sleep_on("{{ item.pages }}"))["issues"] == []  # an integer fits a number
    issue = the_issue(check(sleep_on("{{ item.title }}")), "type_mismatch")
    assert "`item.title` is declared as string" in issue["message"]
    assert codes(check(sleep_on("{{ item }}"))) == ["type_mismatch"]  # an object
    assert check(sleep_on("{{ item.other }}"))["issues"] == []  # not declared: not guessed


def test_index_is_an_integer():
    assert check(workflow(counted(), each(component="core.sleep", inputs={"seconds": "{{ index }}"})))["issues"] == []
    issue = the_issue(check(workflow(counted(), each(inputs={"template": "{{ index }}"}))), "type_mismatch")
    assert issue["message"] == "`index` is declared as integer but input `template` of `text.template` expects string"


def test_items_of_an_undeclared_list_are_not_guessed():
    definition = workflow(
        each("{{ inputs.xs }}", "core.sleep", {"seconds": "{{ item.n }}"}), inputs={"xs": {"type": "array"}}
    )
    assert check(definition)["issues"] == []


# --- a map step's outputs: results and errors ---------------------------------------------------------


def test_a_maps_component_output_is_unknown_and_results_is_suggested():
    definition = workflow(
        step("documents", "json.pick", inputs={"data": {}, "path": "documents"}),
        step(
            "summaries", "text.template", map="{{ steps.documents.outputs.value }}", inputs={"template": "{{ item }}"}
        ),
        step(
            "report",
            "text.template",
            inputs={"template": "{all}", "values": {"all": "{{ steps.summaries.outputs.text }}"}},
        ),
    )
    assert check(definition)["issues"] == [
        {
            "code": "unknown_reference",
            "severity": "error",
            "message": "`steps.summaries.outputs.text`: step `summaries` is a map: its outputs are `results` "
            "(each item's outputs, in order) and `errors`",
            "path": "/steps/2/inputs/values/all",
            "suggestion": "did you mean `results`? `steps.summaries.outputs.results.0.text` is the first item's `text`",
        }
    ]


def test_a_misspelt_map_output_gets_the_close_name():
    result = check(workflow(counted(), each(), outputs={"e": "{{ steps.m.outputs.error }}"}))
    assert the_issue(result, "unknown_reference")["suggestion"] == "did you mean `errors`?"


def test_results_is_a_list_and_types_through_the_components_outputs():
    def sleep_on(value):
        return workflow(counted(), each(), step("s", "core.sleep", inputs={"seconds": value}))

    issue = the_issue(check(sleep_on("{{ steps.m.outputs.results }}")), "type_mismatch")
    assert "`steps.m.outputs.results` is declared as array" in issue["message"]
    issue = the_issue(check(sleep_on("{{ steps.m.outputs.results.0.text }}")), "type_mismatch")
    assert "declared as string" in issue["message"]
    assert codes(check(sleep_on("{{ steps.m.outputs.errors }}"))) == ["type_mismatch"]
    assert check(sleep_on("{{ steps.m.outputs.errors.0.index }}"))["issues"] == []


def test_results_of_a_map_that_allows_failures_may_be_null():
    def sleep_twice(allow_failures, value):
        sleeps = each(component="core.sleep", inputs={"seconds": 1}, allow_failures=allow_failures)
        return workflow(counted(), sleeps, step("s", "core.sleep", inputs={"seconds": value}))

    assert check(sleep_twice(True, "{{ steps.m.outputs.results.0.slept }}"))["issues"] == []
    # null is among the types a failed item may give, object still among them: nothing is refused for it...
    take_object = fake_component("take.object", inputs=closed({"v": {"type": "object"}}))
    components = COMPONENTS | {"take.object": take_object}
    for allow_failures in (True, False):
        definition = sleep_twice(allow_failures, 1)
        definition["steps"].append(step("o", "take.object", inputs={"v": "{{ steps.m.outputs.results.0 }}"}))
        assert check(definition, components)["issues"] == []
    # ...but a number is no result of a map either way, and the message says what a result may be.
    definition = sleep_twice(True, "{{ steps.m.outputs.results.0 }}")
    assert "declared as null or object" in the_issue(check(definition), "type_mismatch")["message"]


def test_a_map_over_a_maps_results_gets_the_components_outputs_as_items():
    definition = workflow(
        counted(),
        each(),
        each("{{ steps.m.outputs.results }}", "core.sleep", {"seconds": "{{ item.text }}"}, step_id="again"),
    )
    issue = the_issue(check(definition), "type_mismatch")
    assert "`item.text` is declared as string" in issue["message"]


def test_a_map_of_an_unknown_component_still_has_results_and_errors():
    definition = workflow(
        counted(), each(component="no.such"), step("after", inputs={"v": "{{ steps.m.outputs.foo }}"})
    )
    assert codes(check(definition)) == ["unknown_component", "unknown_reference"]


# --- a map step's inputs are checked as any step's --------------------------------------------------------


def test_a_map_steps_inputs_are_checked_against_its_component():
    result = check(workflow(counted(), each(inputs={"values": {"t": "{{ item }}"}, "tempalte": "x"})))
    assert codes(result) == ["missing_input", "unknown_input"]
    assert the_issue(result, "missing_input")["path"] == "/steps/1/inputs"


def test_a_map_steps_input_references_are_checked_and_make_parents():
    result = check(workflow(counted(), each(inputs={"template": "{{ steps.nope.outputs.text }}"})))
    assert "there is no step `nope`" in the_issue(result, "unknown_reference")["message"]
    cycle = workflow(counted(), each(inputs={"template": "{{ steps.m.outputs.results }}"}))
    assert "cycle" in codes(check(cycle))


# --- a map over a workflow ------------------------------------------------------------------------------------


def test_a_map_over_a_workflow_reads_item_and_has_results():
    definition = workflow(
        counted(),
        {"id": "m", "workflow": "greet", "map": "{{ steps.c.outputs.items }}", "inputs": {"name": "{{ item }}"}},
        step("after", inputs={"all": "{{ steps.m.outputs.results }}", "one": "{{ steps.m.outputs.results.0.text }}"}),
    )
    assert check(definition, WITH_WORKFLOWS)["issues"] == []
    definition["steps"][2]["inputs"] = {"bad": "{{ steps.m.outputs.text }}"}
    assert codes(check(definition, WITH_WORKFLOWS)) == ["unknown_reference"]


def test_a_map_over_a_workflow_still_gives_the_childs_inputs():
    definition = workflow(
        counted(),
        {"id": "m", "workflow": "greet", "map": "{{ steps.c.outputs.items }}", "inputs": {"name": "{{ item }}"}},
    )
    callee = {"id": "greet", "inputs": {"name": {"type": "string"}, "greeting": {"type": "string"}}, "steps": []}
    [issue] = check_calls(definition, lambda slug, label: callee if slug == "greet" else None)
    assert (issue.code, issue.path) == ("missing_workflow_input", "/steps/1/inputs")
    assert "`greeting`" in issue.message
