"""The workflow format's JSON Schema, loaded and compiled once per process.

workflows/definitions/schema/workflow.schema.json is the single source of the format's
shape (docs/workflow-format.md describes it for people). fastjsonschema turns
it into Python code: checking a valid 2,000-step definition then takes a few
milliseconds instead of tens with jsonschema, which is only used to list every
error once the fast check has failed (see workflows/definitions/validation.py).
"""

import json
import re
from functools import cache
from pathlib import Path

import fastjsonschema

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "workflow.schema.json"
FORMAT_SCHEMA: dict = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))

_definitions = FORMAT_SCHEMA["definitions"]
SLUG_PATTERN: str = _definitions["slug"]["pattern"]
STEP_ID_PATTERN: str = _definitions["stepId"]["pattern"]
NAME_PATTERN: str = _definitions["name"]["pattern"]

STEP_KEYS: tuple[str, ...] = tuple(_definitions["step"]["properties"])
TOP_LEVEL_KEYS: tuple[str, ...] = tuple(FORMAT_SCHEMA["properties"])


def fullmatch_regex(pattern: str) -> re.Pattern:
    """A JSON Schema pattern compiled with ECMA 262's meaning of `$`.

    In Python `$` also matches before a trailing newline, so "a\\n" would pass
    `^[a-z]+$`; in JSON Schema (ECMA 262) `$` is the end of the string. This
    is the same fix fastjsonschema applies, so both validators agree.
    """
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


SLUG_RE = fullmatch_regex(SLUG_PATTERN)
STEP_ID_RE = fullmatch_regex(STEP_ID_PATTERN)
NAME_RE = fullmatch_regex(NAME_PATTERN)


def _without_items(schema: dict, name: str) -> dict:
    """`schema` with no rule for the items of its list property `name`."""
    properties = schema["properties"]
    return {**schema, "properties": {**properties, name: {**properties[name], "items": {}}}}


# The format is compiled in parts: the definition without its steps, then
# each step without its depends_on items. The code fastjsonschema generates
# for a list's items builds each item's name ("data.steps[42]") with
# str.format(**locals()): for the steps that cost more than checking them
# (13 % of a whole validation), for depends_on 2.2 µs an item (checking a join
# that waits for 1,000 branches took 2.2 ms). depends_on items are matched
# against stepId's pattern here instead; only when one does not fit does the
# whole step's compiled check run, for its message.
_check_without_steps = fastjsonschema.compile(_without_items(FORMAT_SCHEMA, "steps"))
_check_step_but_dependencies = fastjsonschema.compile(
    {**_without_items(_definitions["step"], "depends_on"), "definitions": _definitions}
)


@cache
def _check_whole_step():
    """The step's compiled check with its depends_on items: only needed for an error, so compiled then."""
    return fastjsonschema.compile({"$ref": "#/definitions/step", "definitions": _definitions})


def check_format(definition) -> None:
    """Raise fastjsonschema.JsonSchemaValueException on the first format error met."""
    _check_without_steps(definition)
    for index, step in enumerate(definition["steps"]):
        try:
            _check_step_but_dependencies(step)
            dependencies = step.get("depends_on")
            if dependencies and not _are_step_ids(dependencies):
                _check_whole_step()(step)
        except fastjsonschema.JsonSchemaValueException as error:
            raise _within_step(error, index) from None


def _are_step_ids(items: list) -> bool:
    """Whether every item fits the format's stepId: a string matching its pattern."""
    search = STEP_ID_RE.search
    return all(isinstance(item, str) and search(item) for item in items)


def _within_step(error: fastjsonschema.JsonSchemaValueException, index: int):
    """A step's error named from the top of the definition (data.id -> data.steps[3].id)."""
    where = f"data.steps[{index}]"
    name = where + (error.name or "data").removeprefix("data")
    return fastjsonschema.JsonSchemaValueException(
        error.message.replace("data", where, 1), error.value, name, error.definition, error.rule
    )


# What each pattern means, for messages people can act on.
PATTERN_HELP: dict[str, str] = {
    SLUG_PATTERN: "letters, digits, `_` and `-`, starting with a letter or digit, at most 100 characters",
    STEP_ID_PATTERN: "letters, digits, `_` and `-`, not starting with `-`, at most 100 characters",
    NAME_PATTERN: "letters, digits, `_` and `-`, starting with a letter or `_`, at most 100 characters",
    _definitions["step"]["properties"]["component"]["pattern"]: "a registry name: letters, digits, `_`, `.`, `-`",
    _definitions["step"]["properties"]["queue"]["pattern"]: "letters, digits, `_`, `.`, `:`, `-`",
    _definitions["step"]["properties"]["description"]["pattern"]: "text without control characters",
    FORMAT_SCHEMA["properties"]["name"]["pattern"]: "one line of text without control characters",
    FORMAT_SCHEMA["properties"]["version"]["pattern"]: "a semantic version such as 1.0.0 or 2.1.0-beta.1",
    FORMAT_SCHEMA["properties"]["tags"]["items"]["pattern"]: "letters, digits, `_`, `.`, `:`, `-`, at most 50",
}


JSON_TYPE_OF_CLASS = {
    type(None): "null",
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def json_type(value) -> str:
    """The JSON Schema type name of a parsed JSON value ("integer" for whole ints)."""
    kind = JSON_TYPE_OF_CLASS.get(type(value))
    if kind is not None:  # the classes json.loads makes; subclasses below
        return kind
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: True is an int in Python, not in JSON
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


# A step with `workflow` instead of `component` runs another workflow as a child run:
# the engine treats it as a step of this built-in component (registry/builtins/waits.py).
SUBWORKFLOW_COMPONENT = "core.workflow"


def component_of(step: dict) -> str | None:
    """The component a step calls: its `component`, or core.workflow for a step with `workflow`."""
    name = step.get("component")
    if name is None and isinstance(step.get("workflow"), str):
        return SUBWORKFLOW_COMPONENT
    return name
