"""JSON Schema: format errors worded for people, and the schemas a definition declares for its inputs.

Schemas are read as Draft 7 with ECMA 262's `$`, as fastjsonschema reads
them: the compiled format check and the one that lists every error must agree.
"""

import json
from functools import lru_cache

from jsonschema import Draft7Validator, ValidationError, validators
from jsonschema.exceptions import SchemaError

from workflows.definitions.format import PATTERN_HELP, fullmatch_regex, json_type
from workflows.definitions.issues import Issue, article, did_you_mean, make_issue, pointer, shown
from workflows.definitions.parsing import nesting_exceeds, too_deep
from workflows.definitions.references import escape_pointer

# How deep an input's schema (/inputs/NAME) sits, the definition being level 1:
# the format allows any value there, so this check watches the depth itself.
SCHEMA_DEPTH = 2
MAX_MESSAGE = 200  # characters of a jsonschema message passed on


def _ecma_pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{shown(instance)} does not match {pattern!r}")


@lru_cache(maxsize=256)
def _compiled(pattern: str):
    return fullmatch_regex(pattern)


ECMAValidator = validators.extend(Draft7Validator, {"pattern": _ecma_pattern})


def format_issues(error: ValidationError) -> list[Issue]:
    """One or more `schema` issues, worded for people, for one jsonschema error."""
    path = pointer(error.absolute_path)
    keyword = error.validator
    instance = error.instance
    if "propertyNames" in error.schema_path:
        help_text = PATTERN_HELP.get(error.validator_value, "") if keyword == "pattern" else ""
        return [
            make_issue(
                "schema",
                f"the name {shown(instance)} is not allowed" + (f": use {help_text}" if help_text else ""),
                f"{path}/{escape_pointer(instance)}",
            )
        ]
    if keyword == "additionalProperties" and isinstance(instance, dict):
        allowed = list(error.schema.get("properties", {}))
        return [
            make_issue(
                "schema", f"unknown key {shown(key)}", f"{path}/{escape_pointer(key)}", did_you_mean(key, allowed)
            )
            for key in instance
            if key not in allowed
        ]
    return [make_issue("schema", _format_message(error), path)]


def _format_message(error: ValidationError) -> str:
    keyword = error.validator
    instance = error.instance
    if keyword == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"must be {article(expected)}, not {article(json_type(instance))}"
    if keyword == "pattern":
        help_text = PATTERN_HELP.get(error.validator_value)
        return f"{shown(instance)} is not allowed" + (f": use {help_text}" if help_text else "")
    if keyword == "required":
        return error.message
    if keyword == "minItems" and error.validator_value == 1:
        return "must not be empty"
    if keyword == "enum":
        choices = ", ".join(json.dumps(choice) for choice in error.validator_value)
        return f"{shown(instance)} is not one of {choices}"
    return _shortened(error.message)


def _shortened(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def schema_problem(schema: dict, value) -> str | None:
    """The first way `value` fails `schema`, or None if it fits."""
    try:
        error = next(ECMAValidator(schema).iter_errors(value), None)
    except Exception as exc:  # a user's schema can break in many ways (bad regex, unresolvable $ref)
        return f"its schema can't be used: {exc}"
    if error is None:
        return None
    where = pointer(error.absolute_path)
    message = _shortened(error.message)
    return f"{message} (at {where})" if where else message


class SchemaChecks:
    """The checker's checks of the input schemas a definition declares (state: validation._Checker)."""

    def check_input_schemas(self) -> None:
        for name, schema in self.declared_inputs.items():
            if not isinstance(schema, dict):
                continue  # a format error already
            path = f"/inputs/{escape_pointer(name)}"
            if nesting_exceeds(schema, self.max_depth - SCHEMA_DEPTH):
                self.issues.append(too_deep(path))
                continue
            try:
                ECMAValidator.check_schema(schema)
            except SchemaError as exc:
                self.add("schema", f"input `{name}` has an invalid JSON Schema: {exc.message}", path)
                continue
            if "default" in schema:
                problem = schema_problem(schema, schema["default"])
                if problem is not None:
                    self.add(
                        "schema", f"the default of input `{name}` does not fit its schema: {problem}", f"{path}/default"
                    )
