"""The format's schema, and bad input: each gets a clear issue, never a traceback."""

import json

import fastjsonschema
import pytest
from jsonschema import Draft7Validator

from tests.definitions.validation_fakes import COMPONENTS, codes, issues_with, step, workflow
from workflows.definitions.format import FORMAT_SCHEMA, STEP_ID_RE, check_format
from workflows.definitions.validation import ECMAValidator, parse_definition, validate, validate_source


def check(definition, mode="normal"):
    return validate(definition, mode=mode, components=COMPONENTS)


def source(raw, mode="normal"):
    return validate_source(raw, mode=mode, components=COMPONENTS)


def test_a_complete_valid_definition():
    definition = workflow(
        step(
            "greet",
            "text.template",
            inputs={"template": "Hello {name}", "values": {"name": "{{ inputs.name }}"}},
            retry={"max_attempts": 3, "backoff": "exponential", "delay": 0.5, "max_delay": 10, "jitter": True},
            timeout=30,
            queue="default",
            priority=9,
            description="Say hello.\nTwice.",
        ),
        step("wait", "core.sleep", inputs={"seconds": 1}, depends_on=["greet"], when="inputs.name != ''"),
        inputs={"name": {"type": "string", "default": "Ada"}},
        outputs={"text": "{{ steps.greet.outputs.text }}"},
        name="Greeting — café",
        version="1.2.3-beta.1+build.5",
        description="A small example.",
        tags=["demo", "text"],
    )
    assert check(definition) == {"valid": True, "issues": []}
    assert check(definition, mode="strict") == {"valid": True, "issues": []}


def test_issues_have_the_documented_shape():
    result = check(workflow(step("a", "nope.nothing")))
    assert result["valid"] is False
    assert set(result["issues"][0]) == {"code", "severity", "message", "path", "suggestion"}


@pytest.mark.parametrize("value", [[], "text", 42, None, True])
def test_a_definition_that_is_not_an_object(value):
    result = check(value)
    assert result["valid"] is False
    assert result["issues"] == [
        {
            "code": "schema",
            "severity": "error",
            "message": result["issues"][0]["message"],
            "path": "",
            "suggestion": None,
        }
    ]
    assert "object" in result["issues"][0]["message"]


def test_unknown_keys_are_schema_errors_with_suggestions():
    definition = workflow(step("a", depends_onn=["b"]), stepz=[])
    result = check(definition)
    unknown = {issue["path"]: issue for issue in issues_with(result, "schema")}
    assert unknown["/stepz"]["suggestion"] == "did you mean `steps`?"
    assert unknown["/steps/0/depends_onn"]["suggestion"] == "did you mean `depends_on`?"
    assert "unknown key" in unknown["/stepz"]["message"]


def test_every_schema_error_is_listed_at_once():
    definition = {
        "id": "Bad Slug!",
        "version": "1.0",
        "steps": [
            {"id": "a", "component": "core.noop", "priority": 12, "timeout": 0},
            {"component": "core.noop", "retry": {"max_attempts": 0, "backoff": "linear"}},
        ],
    }
    paths = {issue["path"] for issue in issues_with(check(definition), "schema")}
    assert paths >= {
        "/id",
        "/version",
        "/steps/0/priority",
        "/steps/0/timeout",
        "/steps/1",
        "/steps/1/retry/max_attempts",
        "/steps/1/retry/backoff",
    }


def test_required_keys_and_empty_steps():
    assert [issue["path"] for issue in check({"steps": [{"id": "a", "component": "core.noop"}]})["issues"]] == [""]
    result = check({"id": "x", "steps": []})
    assert issues_with(result, "schema")[0]["path"] == "/steps"


@pytest.mark.parametrize("bad_id", [5, None, ["a"], {"a": 1}, True])
def test_non_string_step_ids_are_schema_errors_and_nothing_crashes(bad_id):
    definition = workflow(
        step(bad_id, inputs={"x": "{{ steps.b.outputs.y }}"}),
        step("b", depends_on=[bad_id] if isinstance(bad_id, str | int) else []),
        outputs={"o": "{{ steps.b.outputs.y }}"},
    )
    result = check(definition)
    assert result["valid"] is False
    assert "/steps/0/id" in {issue["path"] for issue in issues_with(result, "schema")}


@pytest.mark.parametrize(
    "bad_id",
    ["café", "a b", "a\nb", "a\n", "a\x00", "-a", "", "a" * 101, "ａ", "a/b", "٣"],
)
def test_step_ids_outside_the_allowed_characters(bad_id):
    result = check(workflow(step(bad_id)))
    assert [issue["path"] for issue in issues_with(result, "schema")] == ["/steps/0/id"]


@pytest.mark.parametrize("good_id", ["a", "A_1", "_x", "9-lives", "a" * 100])
def test_allowed_step_ids(good_id):
    assert check(workflow(step(good_id)))["valid"] is True


def test_control_characters_in_names_but_not_unicode_letters():
    assert check(workflow(step("a"), name="Résumé 履歴書"))["valid"] is True
    for name in ["bad\x00name", "line\nbreak", "tab\tbed", "esc\x1b[31m", "c1\x85"]:
        result = check(workflow(step("a"), name=name))
        assert [issue["path"] for issue in result["issues"]] == ["/name"], name


def test_workflow_id_input_and_output_names_use_patterns():
    definition = workflow(
        step("a"),
        inputs={"bad name": {"type": "string"}, "ok": {}},
        outputs={"é": "{{ steps.a.outputs.x }}"},
    )
    definition["id"] = "has space"
    paths = {issue["path"] for issue in issues_with(check(definition), "schema")}
    assert paths == {"/id", "/inputs/bad name", "/outputs/é"}


def test_an_input_schema_must_be_a_valid_json_schema():
    result = check(workflow(step("a"), inputs={"n": {"type": "strng"}}))
    assert issues_with(result, "schema")[0]["path"] == "/inputs/n"


def test_an_input_default_must_fit_its_schema():
    result = check(workflow(step("a"), inputs={"n": {"type": "integer", "default": "ten"}}))
    assert issues_with(result, "schema")[0]["path"] == "/inputs/n/default"


def test_malformed_json():
    result = source(b'{"id": "x", "steps": [')
    assert result["valid"] is False
    assert codes(result) == ["invalid_json"]
    assert "line 1" in result["issues"][0]["message"]


@pytest.mark.parametrize("raw", [b"", b"nul", b"{'id': 'x'}", b'{"a": NaN}', b'{"a": Infinity}', b"\xff\xfe{", "{"])
def test_other_invalid_json(raw):
    assert codes(source(raw)) == ["invalid_json"]


def test_a_byte_order_mark_is_accepted():
    raw = "\ufeff" + json.dumps(workflow(step("a")))
    assert source(raw.encode("utf-8"))["valid"] is True


def test_json_that_is_not_an_object():
    result = source(b"[1, 2]")
    assert codes(result) == ["schema"]
    assert result["issues"][0]["path"] == ""


def test_ten_thousand_levels_of_nesting_from_text():
    for raw in ["[" * 10_000 + "]" * 10_000, '{"a":' * 10_000 + "1" + "}" * 10_000]:
        assert codes(source(raw)) == ["too_deep"]


def test_nesting_just_past_the_limit_is_refused(settings):
    settings.OAWEB_MAX_DEFINITION_DEPTH = 10
    inner = "{{ inputs.x }}"
    for _ in range(6):  # /steps/0/inputs is already level 4
        inner = [inner]
    definition = workflow(step("a", inputs={"deep": inner}), inputs={"x": {}})
    assert check(definition)["valid"] is True
    definition["steps"][0]["inputs"]["deep"] = [inner]
    result = check(definition)
    assert codes(result) == ["too_deep"]
    assert result["issues"][0]["path"] == "/steps/0/inputs"
    assert codes(source(json.dumps(definition))) == ["too_deep"]


def test_ten_thousand_levels_of_nesting_given_as_objects():
    deep = "x"
    for _ in range(10_000):
        deep = [deep]
    in_inputs = workflow(step("a", inputs={"x": deep}))
    assert codes(check(in_inputs)) == ["too_deep"]
    in_schema = workflow(step("a"), inputs={"n": {"default": deep}})
    assert codes(check(in_schema)) == ["too_deep"]
    # Where the format expects a scalar, the format check itself stops it.
    misplaced = workflow(step("a", retry=deep))
    assert codes(check(misplaced)) == ["too_deep"]


def test_fifty_megabytes_is_too_large_before_parsing():
    raw = b'{"id": "x", "steps": [], "description": "' + b"x" * (50 * 1024 * 1024) + b'"}'
    result = source(raw)
    assert codes(result) == ["too_large"]
    assert "50" in result["issues"][0]["message"] or "52" in result["issues"][0]["message"]
    text_result = source(raw.decode())
    assert codes(text_result) == ["too_large"]


def test_size_limit_counts_utf8_bytes(settings):
    settings.OAWEB_MAX_DEFINITION_BYTES = 2048
    raw = json.dumps(workflow(step("a"), description="é" * 1500), ensure_ascii=False)
    assert len(raw) < 2048 < len(raw.encode())
    assert codes(source(raw)) == ["too_large"]


def test_parse_definition_returns_the_value():
    value, issues = parse_definition('{"id": "x"}')
    assert value == {"id": "x"} and issues == []


def test_parse_definition_refuses_other_types():
    with pytest.raises(TypeError):
        parse_definition({"id": "x"})


def test_unknown_mode_is_a_programming_error():
    with pytest.raises(ValueError):
        validate(workflow(step("a")), mode="lenient", components=COMPONENTS)


def test_pattern_checks_agree_on_a_trailing_newline():
    # Python's `$` matches before a final newline; JSON Schema's does not.
    result = check({"id": "flow\n", "steps": [step("a")], "extra": 1})
    assert {issue["path"] for issue in result["issues"]} == {"/id", "/extra"}


RICH = workflow(
    step("a", "text.template", inputs={"template": "t", "values": {"x": ["{{ inputs.n }}"]}}, retry={"delay": 1}),
    step("b", "core.sleep", inputs={"seconds": "{{ inputs.n }}"}, depends_on=["a"], when="inputs.n > 1"),
    inputs={"n": {"type": "number", "default": 1}},
    outputs={"o": "{{ steps.a.outputs.text }}"},
    tags=["t"],
)
REPLACEMENTS = [None, 0, -1, 1.5, True, "", "x y", "{{ inputs.q }}", "{{ bad }}", [], {}, [1, {"a": []}], {"a": [1]}]


def every_path(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from every_path(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from every_path(child, (*path, index))


def replaced(definition, path, new):
    result = json.loads(json.dumps(definition))
    if not path:
        return new
    target = result
    for part in path[:-1]:
        target = target[part]
    if new is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = new
    return result


DELETE = object()


def test_any_value_of_any_type_anywhere_gives_issues_not_exceptions():
    assert check(RICH)["valid"] is True
    for path in list(every_path(RICH)):
        for new in [*REPLACEMENTS, DELETE]:
            if new is DELETE and not path:
                continue
            result = check(replaced(RICH, path, new))
            assert isinstance(result["valid"], bool), (path, new)
            for issue in result["issues"]:
                assert set(issue) == {"code", "severity", "message", "path", "suggestion"}
                assert issue["path"] == "" or issue["path"].startswith("/")


def test_the_format_schema_is_valid_draft_7():
    Draft7Validator.check_schema(FORMAT_SCHEMA)
    assert STEP_ID_RE.search("ok_1") and not STEP_ID_RE.search("ok\n")


def test_the_compiled_check_a_step_at_a_time_agrees_with_the_whole_schema():
    # check_format runs the definition without its steps, then each step: it
    # must find an error exactly where the whole schema does, and name it
    # from the top of the definition.
    whole = ECMAValidator(FORMAT_SCHEMA)
    cases = [replaced(RICH, path, new) for path in every_path(RICH) for new in [*REPLACEMENTS, DELETE] if path]
    assert len(cases) > 300
    for definition in cases:
        expected = {tuple(error.absolute_path) for error in whole.iter_errors(definition)}
        try:
            check_format(definition)
        except fastjsonschema.JsonSchemaValueException as error:
            found = tuple(int(part) if part.isdigit() else part for part in error.path[1:])
            assert any(found[: len(path)] == path for path in expected), (definition, error.name)
        else:
            assert not expected, definition


@pytest.mark.parametrize("bad", [5, None, "x y", "-a", "a\n", ["a"]])
def test_a_bad_dependency_among_good_ones_is_named_where_it_is(bad):
    # check_format matches depends_on items itself (fastjsonschema's loop over
    # them was slow) and runs the compiled check only for its message.
    definition = workflow(step("a"), step("b"), step("c", depends_on=["a", "b", "a", bad, "b"]))

    with pytest.raises(fastjsonschema.JsonSchemaValueException) as raised:
        check_format(definition)

    assert raised.value.name == "data.steps[2].depends_on[3]"
    assert [issue["path"] for issue in issues_with(check(definition), "schema")] == ["/steps/2/depends_on/3"]


def test_depends_on_items_are_step_ids_and_nothing_more():
    # check_format checks these items against the type and pattern alone: a
    # keyword added to stepId must be taught to workflows/definitions/format.py too.
    assert FORMAT_SCHEMA["definitions"]["step"]["properties"]["depends_on"]["items"] == {"$ref": "#/definitions/stepId"}
    assert set(FORMAT_SCHEMA["definitions"]["stepId"]) == {"type", "pattern"}
    assert FORMAT_SCHEMA["definitions"]["stepId"]["type"] == "string"
