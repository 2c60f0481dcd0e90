"""A run's inputs, checked against the input schemas its workflow declares, with defaults applied."""

import copy

from workflows.definitions import strict_json
from workflows.definitions.format import json_type
from workflows.definitions.issues import WARNING, Issue, as_dicts, did_you_mean, make_issue
from workflows.definitions.references import escape_pointer
from workflows.definitions.schema_checks import schema_problem


def validate_inputs(definition: dict, given: dict | None) -> tuple[dict, list[dict]]:
    """check_inputs, with its issues as dicts (Issue.as_dict), as the engine and the doors take them."""
    values, issues = check_inputs(definition, given)
    return values, as_dicts(issues)


def check_inputs(definition: dict, given: dict | None) -> tuple[dict, list[Issue]]:
    """Check a run's inputs against the workflow's input schemas; apply defaults.

    Returns (values, issues). Issue paths point into a request body of the
    form {"inputs": {...}}. Codes: missing_input (no value and no default),
    invalid_input (the value does not fit the input's schema, or can't be
    stored: NaN, a lone surrogate, NUL), unknown_input (a warning; the value
    is dropped), schema (`given` is not an object).
    """
    declared = definition.get("inputs") if isinstance(definition, dict) else None
    declared = declared if isinstance(declared, dict) else {}
    if given is None:
        given = {}
    if not isinstance(given, dict):
        return {}, [make_issue("schema", f"run inputs must be an object, not {json_type(given)}", "/inputs")]
    try:
        # The doors read JSON strictly already; this holds for callers that built values in Python.
        strict_json.check_value(given)
    except strict_json.Refused as refused:
        return {}, [make_issue("invalid_input", refused.problem, f"/inputs{refused.pointer}")]
    issues = [
        make_issue(
            "unknown_input",
            f"the workflow has no input `{name}`; the value is ignored",
            f"/inputs/{escape_pointer(name)}",
            did_you_mean(name, list(declared)),
            WARNING,
        )
        for name in given
        if name not in declared
    ]
    values = {}
    for name, schema in declared.items():
        path = f"/inputs/{escape_pointer(name)}"
        if name in given:
            value = given[name]
        elif isinstance(schema, dict) and "default" in schema:
            value = copy.deepcopy(schema["default"])
        else:
            issues.append(make_issue("missing_input", f"the workflow needs input `{name}`", path))
            continue
        problem = schema_problem(schema, value) if isinstance(schema, dict) else None
        if problem is not None:
            issues.append(make_issue("invalid_input", f"input `{name}`: {problem}", path))
        values[name] = value
    return values, issues
