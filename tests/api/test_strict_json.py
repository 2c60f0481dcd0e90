"""Strict JSON at every door: values PostgreSQL (or UTF-8) can't hold are a 400 naming where they are.

NaN, Infinity, -Infinity, literals that overflow to infinity (1e400), lone
surrogates (in values and keys), integers over Python's 4,300 digits and NUL
characters, sent to the API, a webhook, the pages or the CLI.
"""

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from rest_framework.test import APIClient

from tests.api.conftest import as_user
from tests.conftest import noop_definition
from workflows.definitions.strict_json import INVALID_VALUE, Refused, loads
from workflows.definitions.validation import parse_definition, validate_source
from workflows.execution.models import Run
from workflows.execution.runs import RunRefused, start_run
from workflows.management.commands.run_workflow import parse_input
from workflows.models import Workflow
from workflows.triggers.models import Schedule, WebhookTrigger
from workflows.web import run_form

pytestmark = pytest.mark.django_db

HUGE = "1" * 5000
# (JSON text of a value, what the refusal says)
BAD_VALUES = {
    "nan": ("NaN", "finite"),
    "infinity": ("Infinity", "finite"),
    "minus-infinity": ("-Infinity", "finite"),
    "overflow": ("1e400", "finite"),
    "minus-overflow": ("-1e400", "finite"),
    "lone-surrogate": ('"a\\udfffb"', "surrogate"),
    "huge-integer": (HUGE, "digits"),
    "huge-negative-integer": ("-" + HUGE, "digits"),
    "nul": ('"a\\u0000b"', "NUL"),
}
bad_values = pytest.mark.parametrize(("text", "says"), BAD_VALUES.values(), ids=BAD_VALUES.keys())


def any_input_definition(slug="anything"):
    """A workflow whose input `x` takes any JSON value, so nothing but the reader stands in the way."""
    definition = noop_definition(slug, steps=1)
    definition["inputs"] = {"x": {"default": 0}}
    definition["steps"][0]["inputs"] = {"value": "{{ inputs.x }}"}
    return definition


@pytest.fixture
def api(owner, components):
    return as_user(APIClient(), owner)


@pytest.fixture
def owner_client(login, owner):
    return login(owner)


@pytest.fixture
def workflow(make_workflow, components):
    return make_workflow(any_input_definition())


def post_raw(client, path, body: str):
    return client.generic("POST", path, body.encode("utf-8"), content_type="application/json")


def assert_refused(response, pointer, says):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == INVALID_VALUE
    assert body["pointer"] == pointer
    assert says in body["detail"]
    assert pointer in body["detail"]


# --- the reader ---------------------------------------------------------------------


@bad_values
def test_the_reader_refuses_each_value_with_its_pointer(text, says):
    with pytest.raises(Refused) as refused:
        loads(f'{{"a": [1, {{"b": {text}}}]}}')
    assert refused.value.code == INVALID_VALUE
    assert refused.value.pointer == "/a/1/b"
    assert says in str(refused.value)


def test_the_reader_points_at_the_object_holding_a_bad_key():
    # The key itself can't be written in the (UTF-8) answer: the pointer names its object.
    for key in ["\\udfff", "\\ud800x", "a\\u0000"]:
        with pytest.raises(Refused) as refused:
            loads(f'{{"a": {{"ok": 1, "{key}": 2}}}}')
        assert refused.value.pointer == "/a"
        assert "key" in str(refused.value)


def test_the_reader_escapes_pointer_tokens():
    with pytest.raises(Refused) as refused:
        loads('{"a/b": {"c~d": [NaN]}}')
    assert refused.value.pointer == "/a~1b/c~0d/0"


def test_the_reader_refuses_a_bad_value_at_the_top():
    with pytest.raises(Refused) as refused:
        loads("NaN")
    assert refused.value.pointer == ""


def test_the_reader_keeps_what_is_fine():
    text = '{"pair": "\\ud83d\\ude00", "big": ' + "9" * 4300 + ', "small": 1e-400, "neg": -0.0, "e": "\\u00e9"}'
    value = loads(text)
    assert value["pair"] == "\U0001f600"
    assert value["big"] == int("9" * 4300)
    assert value["small"] == 0.0


# --- the API --------------------------------------------------------------------------


@bad_values
def test_run_inputs_are_refused_with_a_pointer_and_nothing_starts(api, workflow, text, says):
    response = post_raw(api, "/api/v1/runs/", f'{{"workflow": "anything", "inputs": {{"x": {text}}}}}')

    assert_refused(response, "/inputs/x", says)
    assert not Run.objects.exists()


def test_a_bad_key_in_run_inputs_points_at_the_inputs(api, workflow):
    response = post_raw(api, "/api/v1/runs/", '{"workflow": "anything", "inputs": {"\\udfff": 1}}')

    assert_refused(response, "/inputs", "surrogate")
    assert not Run.objects.exists()


@bad_values
def test_validate_refuses_what_it_used_to_call_valid(api, text, says):
    source = '{"id": "x", "steps": [{"id": "a", "component": "core.noop", "inputs": {"value": ' + text + "}}]}"

    response = post_raw(api, "/api/v1/validate", source)

    assert_refused(response, "/steps/0/inputs/value", says)


def test_importing_a_workflow_named_with_a_lone_surrogate_is_400(api):
    response = post_raw(api, "/api/v1/workflows/", '{"definition": {"id": "x", "name": "\\ud800", "steps": []}}')

    assert_refused(response, "/definition/name", "surrogate")
    assert not Workflow.objects.exists()


# --- webhooks --------------------------------------------------------------------------


@pytest.fixture
def hook_token(workflow):
    cache.clear()  # the webhook view counts misses per IP in the cache
    return WebhookTrigger.create(workflow)[1]


@bad_values
def test_webhook_bodies_are_refused_with_a_pointer(client, hook_token, text, says):
    response = post_raw(client, f"/hooks/{hook_token}/", f'{{"x": {text}}}')

    assert_refused(response, "/x", says)
    assert not Run.objects.exists()


# --- the engine's own check, whatever the door -------------------------------------------


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "\udfff", "a\x00b", {"\ud800": 1}])
def test_start_run_refuses_values_that_came_in_some_other_way(workflow, value):
    with pytest.raises(RunRefused) as refused:
        start_run(workflow, {"x": value})
    assert refused.value.issues[0]["path"].startswith("/inputs/x")
    assert not Run.objects.exists()


# --- definitions: the validator, the editor ------------------------------------------------


@bad_values
def test_parse_definition_reports_the_path_of_the_value(text, says):
    value, issues = parse_definition('{"id": "x", "tags": ["a", ' + text + "]}")

    assert value is None
    assert [issue["path"] for issue in issues] == ["/tags/1"]
    assert issues[0]["code"] == "invalid_json"
    assert says in issues[0]["message"]


def test_a_definition_named_with_a_lone_surrogate_is_invalid():
    result = validate_source('{"id": "x", "name": "\\ud800", "steps": []}')

    assert result["valid"] is False
    assert result["issues"][0]["path"] == "/name"


def test_the_editor_answers_400_with_the_issue_and_its_line(owner_client, components):
    source = '{\n  "id": "x",\n  "name": "\\ud800",\n  "steps": []\n}'

    response = owner_client.post(reverse("workflow-new"), {"source": source})

    assert response.status_code == 400
    page = response.content.decode()
    assert "surrogate" in page and "/name" in page
    assert response.context["issues"][0]["line"] == 3
    assert not Workflow.objects.exists()


@bad_values
def test_the_editor_saves_nothing_for_a_bad_value(owner_client, components, text, says):
    definition = '{"id": "x", "steps": [{"id": "a", "component": "core.noop", "inputs": {"v": ' + text + "}}]}"

    response = owner_client.post(reverse("workflow-new"), {"source": definition})

    assert response.status_code == 400
    assert says in response.content.decode()
    assert not Workflow.objects.exists()


# --- the pages: run form, schedules ------------------------------------------------------------


@bad_values
def test_the_run_form_shows_an_error_for_a_bad_json_value(owner_client, workflow, text, says):
    response = owner_client.post(reverse("workflow-run", args=["anything"]), {run_form.PREFIX + "x": text})

    assert response.status_code == 400
    assert says in response.content.decode()
    assert not Run.objects.exists()


def test_the_run_form_refuses_nul_in_a_text_field(owner_client, make_workflow, components):
    make_workflow()  # input `greeting`: a string, taken as typed

    response = owner_client.post(reverse("workflow-run", args=["hello"]), {run_form.PREFIX + "greeting": "a\x00b"})

    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    assert not Run.objects.exists()


def test_the_run_form_refuses_an_integer_field_over_the_digit_limit(owner_client, make_workflow, components):
    definition = any_input_definition("whole")
    definition["inputs"]["x"] = {"type": "integer", "default": 0}
    make_workflow(definition)

    response = owner_client.post(reverse("workflow-run", args=["whole"]), {run_form.PREFIX + "x": HUGE})

    assert response.status_code == 400
    assert not Run.objects.exists()


@bad_values
def test_a_schedule_with_a_bad_input_is_400(owner_client, workflow, text, says):
    data = {"name": "n", "cron": "0 3 * * *", "timezone": "UTC", "inputs": f'{{"x": {text}}}', "enabled": "on"}

    response = owner_client.post(reverse("schedule-create", args=["anything"]), data, HTTP_HX_REQUEST="true")

    assert response.status_code == 400
    assert says in response.content.decode()
    assert not Schedule.objects.exists()


# --- the CLI ------------------------------------------------------------------------------------


@bad_values
def test_the_cli_refuses_a_bad_json_value(text, says):
    with pytest.raises(CommandError) as error:
        parse_input(f"x={text}")
    assert says in str(error.value)
    assert "x" in str(error.value)


def test_the_cli_still_reads_text_that_is_not_json_as_a_string():
    assert parse_input("x=plain words") == ("x", "plain words")
    assert parse_input("x=[1, 2]") == ("x", [1, 2])


def test_the_cli_refuses_before_starting_a_run(workflow):
    with pytest.raises(CommandError):
        call_command("run_workflow", "anything", "--input", "x=1e400", "--timeout", "5", stdout=StringIO())
    assert not Run.objects.exists()
