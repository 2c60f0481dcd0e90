"""Finding and resolving {{ inputs.X }} / {{ steps.ID.outputs.X }} references."""

import pytest

from workflows.definitions.references import (
    NestingError,
    Reference,
    ReferenceError,
    escape_pointer,
    find_references,
    is_whole_reference,
    parse_reference,
    place_pointer,
    resolve,
    scan_references,
)

OUTPUTS = {"a": {"text": "hello", "items": [{"n": 1}, {"n": 2}], "count": 3, "flag": False, "none": None}}
INPUTS = {"name": "Ada", "limit": 5, "config": {"deep": {"x": [10, 20]}}}


def test_parses_input_and_step_references():
    assert parse_reference("inputs.name") == Reference("inputs", "name", None, (), "inputs.name")
    assert parse_reference(" steps.a-1.outputs.items.0.n ") == Reference(
        "steps", "a-1", "items", ("0", "n"), "steps.a-1.outputs.items.0.n"
    )


@pytest.mark.parametrize("body", ["input.x", "steps.a.output.b", "steps.a", "inputs", "inputs.", "inputs.a b", ""])
def test_rejects_bodies_that_are_not_references(body):
    assert parse_reference(body) is None


def test_whole_reference_needs_nothing_but_the_reference():
    assert is_whole_reference("{{inputs.name}}").name == "name"
    assert is_whole_reference("{{   steps.a.outputs.text   }}").output == "text"
    assert is_whole_reference("x {{ inputs.name }}") is None
    assert is_whole_reference("{{ inputs.name }} ") is None
    assert is_whole_reference("{{ inputs.a }}{{ inputs.b }}") is None
    assert is_whole_reference(42) is None


def test_finds_references_anywhere_with_json_pointers():
    value = {
        "a": "{{ inputs.name }}",
        "list": ["x", {"deep": "pre {{ steps.a.outputs.text }} mid {{ inputs.limit }}"}],
        "we/ird~key": "{{inputs.name}}",
        "n": 5,
    }
    found = [(ref.text, pointer) for ref, pointer in find_references(value, "/steps/0/inputs")]
    assert found == [
        ("inputs.name", "/steps/0/inputs/a"),
        ("steps.a.outputs.text", "/steps/0/inputs/list/1/deep"),
        ("inputs.limit", "/steps/0/inputs/list/1/deep"),
        ("inputs.name", "/steps/0/inputs/we~1ird~0key"),
    ]


def test_scan_reports_malformed_braces_separately():
    found, malformed = scan_references({"x": "{{ input.name }} and {{ inputs.ok }}"}, "")
    assert [ref.text for ref, _ in found] == ["inputs.ok"]
    assert [(text, place_pointer(place)) for text, place in malformed] == [("{{ input.name }}", "/x")]


def test_escape_pointer_follows_rfc_6901():
    assert escape_pointer("a/b~c") == "a~1b~0c"
    assert escape_pointer(3) == "3"


def test_a_whole_reference_keeps_the_json_type():
    assert resolve("{{ steps.a.outputs.count }}", INPUTS, OUTPUTS) == 3
    assert resolve("{{ steps.a.outputs.flag }}", INPUTS, OUTPUTS) is False
    assert resolve("{{ steps.a.outputs.none }}", INPUTS, OUTPUTS) is None
    assert resolve("{{ steps.a.outputs.items }}", INPUTS, OUTPUTS) == [{"n": 1}, {"n": 2}]
    assert resolve("{{ inputs.config.deep }}", INPUTS, OUTPUTS) == {"x": [10, 20]}


def test_paths_walk_keys_and_list_indexes():
    assert resolve("{{ steps.a.outputs.items.1.n }}", INPUTS, OUTPUTS) == 2
    assert resolve("{{ inputs.config.deep.x.0 }}", INPUTS, OUTPUTS) == 10


def test_text_around_references_is_interpolated_with_json_for_non_strings():
    text = (
        "{{ inputs.name }} has {{ steps.a.outputs.count }} items: {{ steps.a.outputs.items }} {{steps.a.outputs.none}}"
    )
    assert resolve(text, INPUTS, OUTPUTS) == 'Ada has 3 items: [{"n": 1}, {"n": 2}] null'


def test_resolves_nested_lists_and_dicts_without_touching_keys():
    value = {"{{ inputs.name }}": ["{{ inputs.limit }}", {"t": "{{ steps.a.outputs.text }}!"}], "n": 1.5}
    assert resolve(value, INPUTS, OUTPUTS) == {"{{ inputs.name }}": [5, {"t": "hello!"}], "n": 1.5}


def test_malformed_braces_stay_as_text():
    assert resolve("a {{ nope }} b", INPUTS, OUTPUTS) == "a {{ nope }} b"


@pytest.mark.parametrize(
    "text",
    [
        "{{ inputs.missing }}",
        "{{ steps.zz.outputs.text }}",
        "{{ steps.a.outputs.missing }}",
        "{{ steps.a.outputs.items.9 }}",
        "{{ steps.a.outputs.items.x }}",
        "{{ steps.a.outputs.text.more }}",
        "say {{ inputs.missing }}",
    ],
)
def test_missing_targets_raise_by_default(text):
    with pytest.raises(ReferenceError):
        resolve(text, INPUTS, OUTPUTS)


def test_missing_targets_can_resolve_to_null():
    assert resolve("{{ inputs.missing }}", INPUTS, OUTPUTS, missing="null") is None
    assert resolve("x={{ steps.b.outputs.y }}", INPUTS, {"b": None}, missing="null") == "x=null"


def test_a_step_without_outputs_has_nothing_to_point_at():
    with pytest.raises(ReferenceError):
        resolve("{{ steps.b.outputs.y }}", INPUTS, {"b": None})


def test_resolve_refuses_an_unknown_missing_mode():
    with pytest.raises(ValueError):
        resolve("x", INPUTS, OUTPUTS, missing="ignore")


def test_nothing_is_evaluated():
    text = "{{ __import__('os').system('true') }}"
    assert resolve(text, INPUTS, OUTPUTS) == text
    assert find_references(text) == []


def test_deep_nesting_is_walked_without_recursion():
    value = "{{ inputs.name }}"
    for _ in range(10_000):
        value = [value]
    assert [ref.text for ref, _ in find_references(value)] == ["inputs.name"]


def test_max_depth_stops_the_walk():
    value = {"a": [{"b": "x"}]}
    scan_references(value, "", max_depth=3)
    with pytest.raises(NestingError):
        scan_references(value, "", max_depth=2)


def test_an_unclosed_brace_pair_stops_at_the_next_one():
    found, malformed = scan_references("{{ a {{ inputs.y }} and {{{ inputs.z }}")
    assert [ref.text for ref, _ in found] == ["inputs.y"]
    assert [text for text, _ in malformed] == ["{{{ inputs.z }}"]
    assert scan_references("{{" * 10_000) == ([], [])
