"""validate_inputs: a run's inputs against the workflow's input schemas, defaults applied."""

from workflows.definitions.validation import validate_inputs

DEFINITION = {
    "id": "flow",
    "steps": [{"id": "a", "component": "core.noop"}],
    "inputs": {
        "name": {"type": "string", "minLength": 1},
        "count": {"type": "integer", "default": 3},
        "options": {"type": "object", "default": {"fast": True}},
        "code": {"type": "string", "pattern": "^[a-z]+$", "default": "abc"},
    },
}


def summary(issues):
    return [(issue["code"], issue["severity"], issue["path"]) for issue in issues]


def test_defaults_fill_what_is_not_given():
    values, issues = validate_inputs(DEFINITION, {"name": "Ada"})
    assert issues == []
    assert values == {"name": "Ada", "count": 3, "options": {"fast": True}, "code": "abc"}


def test_defaults_are_copies():
    values, _ = validate_inputs(DEFINITION, {"name": "Ada"})
    values["options"]["fast"] = False
    assert DEFINITION["inputs"]["options"]["default"] == {"fast": True}


def test_an_input_without_default_is_required():
    _, issues = validate_inputs(DEFINITION, {})
    assert summary(issues) == [("missing_input", "error", "/inputs/name")]


def test_values_must_fit_their_schema():
    _, issues = validate_inputs(DEFINITION, {"name": "", "count": "three", "code": "abc\n"})
    assert summary(issues) == [
        ("invalid_input", "error", "/inputs/name"),
        ("invalid_input", "error", "/inputs/count"),
        ("invalid_input", "error", "/inputs/code"),
    ]


def test_unknown_inputs_are_a_warning_and_dropped():
    values, issues = validate_inputs(DEFINITION, {"name": "Ada", "nmae": "x"})
    assert summary(issues) == [("unknown_input", "warning", "/inputs/nmae")]
    assert issues[0]["suggestion"] == "did you mean `name`?"
    assert "nmae" not in values


def test_inputs_must_be_an_object():
    values, issues = validate_inputs(DEFINITION, ["Ada"])
    assert values == {} and summary(issues) == [("schema", "error", "/inputs")]


def test_no_declared_inputs_and_none_given():
    assert validate_inputs({"id": "x", "steps": []}, None) == ({}, [])


def test_a_broken_input_schema_is_reported_not_raised():
    definition = {"inputs": {"x": {"$ref": "https://example.com/schema.json"}}}
    _, issues = validate_inputs(definition, {"x": 1})
    assert summary(issues) == [("invalid_input", "error", "/inputs/x")]
