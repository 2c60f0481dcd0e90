"""The Run form's pure logic: fields from input schemas, typed values from the posted form."""

from django.http import QueryDict

from workflows.web import run_form

DEFINITION = {
    "inputs": {
        "text": {"type": "string"},
        "whole": {"type": "integer"},
        "real": {"type": "number", "default": 1},
        "flag": {"type": "boolean", "default": True},
        "choice": {"enum": [1, "two", None]},
        "list": {"type": "array"},
        "anything": {},
    }
}


def posted(**values) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, value in values.items():
        data[run_form.PREFIX + name] = value
    return data


def test_fields_pick_a_widget_per_schema():
    kinds = {field.name: field.kind for field in run_form.fields(DEFINITION)}
    assert kinds == {
        "text": "text",
        "whole": "integer",
        "real": "number",
        "flag": "checkbox",
        "choice": "select",
        "list": "json",
        "anything": "json",
    }


def test_fields_mark_inputs_without_default_required_and_prefill_defaults():
    fields = {field.name: field for field in run_form.fields(DEFINITION)}
    assert fields["text"].required and not fields["real"].required
    assert fields["real"].value == "1"
    assert fields["flag"].checked
    assert fields["choice"].choices == [("1", "1"), ('"two"', "two"), ("null", "null")]


def test_parse_types_every_value():
    values, errors = run_form.parse(
        DEFINITION,
        posted(text=" keep spaces ", whole="3", real="2.5", choice="null", list="[1]", anything="plain words"),
    )
    assert errors == {}
    assert values == {
        "text": " keep spaces ",
        "whole": 3,
        "real": 2.5,
        "flag": False,
        "choice": None,
        "list": [1],
        "anything": "plain words",
    }


def test_parse_leaves_empty_fields_out_so_defaults_apply():
    values, errors = run_form.parse(DEFINITION, posted(text="", real="  "))
    assert values == {"flag": False}
    assert errors == {}


def test_parse_reports_values_that_do_not_fit_their_widget():
    _, errors = run_form.parse(DEFINITION, posted(whole="1.5", real="NaN", choice='"three"', list="[1,"))
    assert set(errors) == {"whole", "real", "choice", "list"}


def test_errors_from_engine_issues_go_to_their_input():
    issues = [
        {"path": "/inputs/whole", "message": "too small"},
        {"path": "", "message": "something else"},
    ]
    assert run_form.errors_from_issues(issues) == {"whole": "too small", "": "something else"}
