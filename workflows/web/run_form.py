"""The "Run" form of a workflow page, generated from the workflow's input schemas.

Pure functions: `fields` describes the form for the template, `parse` turns
the posted form back into typed run inputs. Checking the values against the
schemas is not done here: engine.start_run does it (validate_inputs), for
the page exactly as for the API.

    string            -> text input
    number / integer  -> number input
    boolean           -> checkbox
    enum              -> select
    anything else     -> textarea of JSON (object, array, no or several types)
"""

import json
import math
from dataclasses import dataclass, field

from workflows.definitions import strict_json
from workflows.redaction import redact_data

TEXT = "text"
NUMBER = "number"
INTEGER = "integer"
CHECKBOX = "checkbox"
SELECT = "select"
JSON = "json"

PREFIX = "input-"  # keeps input names apart from csrfmiddlewaretoken and friends
GENERAL = ""  # the errors key of a problem that is not about one input


@dataclass
class Field:
    name: str
    kind: str
    required: bool
    description: str = ""
    value: str = ""  # as shown in the input
    checked: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)  # (option value, label)
    error: str = ""
    kept: bool = False  # left empty on purpose: empty keeps the earlier run's value (a secret, not shown)

    @property
    def html_name(self) -> str:
        return PREFIX + self.name


def kind_of(schema) -> str:
    if not isinstance(schema, dict):
        return JSON
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return SELECT
    return {"string": TEXT, "number": NUMBER, "integer": INTEGER, "boolean": CHECKBOX}.get(schema.get("type"), JSON)


def declared_inputs(definition) -> dict:
    inputs = definition.get("inputs") if isinstance(definition, dict) else None
    return inputs if isinstance(inputs, dict) else {}


def fields(definition, data=None, errors: dict | None = None) -> list[Field]:
    """The form's fields: defaults prefilled, or the posted `data` when re-shown with `errors`."""
    errors = errors or {}
    shown = []
    for name, schema in declared_inputs(definition).items():
        schema = schema if isinstance(schema, dict) else {}
        kind = kind_of(schema)
        item = Field(
            name=name,
            kind=kind,
            required="default" not in schema,
            description=schema.get("description") if isinstance(schema.get("description"), str) else "",
            error=errors.get(name, ""),
        )
        if kind == SELECT:
            item.choices = [(_option(choice), _label(choice)) for choice in schema["enum"]]
        if data is not None:
            item.value = data.get(item.html_name, "")
            item.checked = item.html_name in data
        elif "default" in schema:
            item.value, item.checked = _shown(kind, schema["default"]), schema["default"] is True
        shown.append(item)
    return shown


def values_as_data(definition, values: dict) -> tuple[dict, set[str]]:
    """A run's input values as the posted form would carry them, for a form prefilled with them (Run again).

    Returns (data, kept): a value that holds a secret (one the pages mask:
    workflows/redaction.py) is left out of the data, so it is never written
    into the page, and its name is in `kept`: parse_again uses the run's value
    when its field stays empty.
    """
    data, kept = {}, set()
    for name, schema in declared_inputs(definition).items():
        if name not in values:
            continue
        value, kind = values[name], kind_of(schema)
        if redact_data(value) != value:
            kept.add(name)
        elif kind == CHECKBOX:
            if value is True:
                data[PREFIX + name] = "on"
        else:
            data[PREFIX + name] = _shown(kind, value)
    return data, kept


def prefilled(definition, values: dict, data=None, errors: dict | None = None) -> list[Field]:
    """The form of `definition` prefilled with a run's `values` (or re-shown with `data` and `errors`)."""
    shown, kept = values_as_data(definition, values)
    form = fields(definition, shown if data is None else data, errors)
    for item in form:
        if item.name in kept:
            item.kept, item.required = True, False
            if data is None:
                item.value = ""
    return form


def parse_again(definition, data, previous: dict) -> tuple[dict, dict[str, str]]:
    """parse, where a kept field (see values_as_data) left empty takes the earlier run's value."""
    values, errors = parse(definition, data)
    _, kept = values_as_data(definition, previous)
    for name in kept:
        if not data.get(PREFIX + name, "").strip():
            values[name] = previous[name]
    return values, errors


def parse(definition, data) -> tuple[dict, dict[str, str]]:
    """The posted form as run inputs: (values, errors by input name).

    An empty field is left out, so the input's default applies (or the
    engine reports it missing); a checkbox is always true or false.
    """
    values, errors = {}, {}
    for name, schema in declared_inputs(definition).items():
        kind = kind_of(schema)
        key = PREFIX + name
        if kind == CHECKBOX:
            values[name] = key in data
            continue
        raw = data.get(key, "")
        if raw.strip() == "":
            continue
        try:
            values[name] = _parsed(kind, raw, schema)
        except ValueError as exc:
            errors[name] = str(exc)
    return values, errors


def errors_from_issues(issues: list[dict]) -> dict[str, str]:
    """validate_inputs' issues (paths /inputs/NAME) as errors by input name."""
    errors: dict[str, str] = {}
    for issue in issues:
        path = issue.get("path") or ""
        name = path[len("/inputs/") :].replace("~1", "/").replace("~0", "~") if path.startswith("/inputs/") else ""
        errors[name] = f"{errors[name]}; {issue['message']}" if name in errors else issue["message"]
    return errors


def _option(choice) -> str:
    return json.dumps(choice, ensure_ascii=False)


def _label(choice) -> str:
    return choice if isinstance(choice, str) else _option(choice)


def _shown(kind: str, value) -> str:
    if kind == SELECT:
        return _option(value)
    if kind == TEXT and isinstance(value, str):
        return value
    if kind in (NUMBER, INTEGER) and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value, indent=2, ensure_ascii=False)


def _parsed(kind: str, raw: str, schema):
    if kind == TEXT:
        return raw
    if kind == SELECT:
        try:
            value = strict_json.loads(raw)
        except ValueError:  # not an option's JSON: the check below refuses it
            value = raw
        if value not in schema["enum"]:
            raise ValueError("choose one of the listed values")
        return value
    if kind == INTEGER:
        try:
            return int(raw.strip())
        except ValueError:
            raise ValueError(f"{raw.strip()!r} is not a whole number") from None
    if kind == NUMBER:
        text = raw.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ValueError(f"{text!r} is not a number")
        return number
    try:
        return strict_json.loads(raw)
    except strict_json.Refused as refused:  # JSON, but a value that can't be stored: never a string instead
        raise ValueError(str(refused)) from None
    except json.JSONDecodeError as exc:
        declared = schema.get("type") if isinstance(schema, dict) else None
        if declared is None:  # no declared type: plain text is a string
            return raw
        raise ValueError(f"not valid JSON: {exc}") from None
