"""Issue: what every check builds, and the dicts the validator's entry points return."""

import dataclasses

import pytest

from tests.definitions.validation_fakes import COMPONENTS, step, workflow
from workflows.definitions.issues import ERROR, WARNING, Issue, make_issue
from workflows.definitions.parsing import read_definition
from workflows.definitions.run_inputs import check_inputs
from workflows.definitions.validation import parse_definition, validate, validate_inputs, validate_source

KEYS = ["code", "severity", "message", "path", "suggestion"]


def test_make_issue_builds_a_frozen_issue():
    issue = make_issue("cycle", "steps form a cycle", "/steps/0", "remove one", WARNING)
    assert issue == Issue("cycle", WARNING, "steps form a cycle", "/steps/0", "remove one")
    assert (issue.code, issue.severity, issue.path, issue.suggestion) == ("cycle", WARNING, "/steps/0", "remove one")
    with pytest.raises(dataclasses.FrozenInstanceError):
        issue.code = "other"


def test_make_issue_defaults():
    issue = make_issue("schema", "bad")
    assert (issue.severity, issue.path, issue.suggestion) == (ERROR, "", None)


def test_as_dict_is_the_json_form_with_its_keys_in_order():
    issue = make_issue("schema", "bad", "/id", "fix it")
    as_dict = issue.as_dict()
    assert list(as_dict) == KEYS
    assert as_dict == {"code": "schema", "severity": "error", "message": "bad", "path": "/id", "suggestion": "fix it"}
    as_dict["message"] = "changed"
    assert issue.message == "bad"


def test_entry_points_return_dicts():
    result = validate(workflow(step("a", "nope")), components=COMPONENTS)
    assert result["issues"] and all(type(issue) is dict and list(issue) == KEYS for issue in result["issues"])
    for issue in validate_source(b"{")["issues"] + parse_definition("[")[1]:
        assert type(issue) is dict and list(issue) == KEYS
    _, issues = validate_inputs({"id": "x", "steps": [], "inputs": {"n": {"type": "string"}}}, {})
    assert [type(issue) for issue in issues] == [dict]


def test_inner_functions_return_issues():
    assert [type(issue) for issue in read_definition("[")[1]] == [Issue]
    _, issues = check_inputs({"id": "x", "steps": [], "inputs": {"n": {"type": "string"}}}, {"m": 1})
    assert [issue.code for issue in issues] == ["unknown_input", "missing_input"]
    assert all(isinstance(issue, Issue) for issue in issues)


def test_json_that_breaks_in_a_string_says_at_once():
    """json's own message ends in "at" here: the issue must not say "at at"."""
    from workflows.definitions.validation import parse_definition

    _, issues = parse_definition('{"id": "x",\n "name": "unterminated}')

    assert issues[0]["message"] == "not valid JSON: Unterminated string starting at line 2 column 10"
