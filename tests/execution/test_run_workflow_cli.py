"""`manage.py run_workflow`: every example runs to success; a failed run exits 1."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.registry import reply, serve
from workflows.models import Team, Workflow

EXAMPLES = sorted(Path(__file__).resolve().parents[2].joinpath("examples").glob("*.json"))
CALLS = {"orders-for-two-customers": ["order-summary"]}
ANSWERS = {"refund-approval": ["--approve"], "wait-for-payment": ["--event", 'payment={"amount": 40}']}


def run_command(*args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("run_workflow", *args, stdout=out)
    except SystemExit as exit:
        return exit.code, out.getvalue()
    return 0, out.getvalue()


def npm_like(handler):
    reply(handler, body=json.dumps({"name": "htmx.org", "version": "2.0.4"}).encode(), content_type="application/json")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_each_example_runs_to_success_with_wait_and_json(workers, path, settings):
    for callee in CALLS.get(path.stem, []):  # the workflows a sub-workflow example runs
        call_command("import_workflow", str(path.with_name(f"{callee}.json")), stdout=StringIO())
    call_command("import_workflow", str(path), stdout=StringIO())
    slug = json.loads(path.read_text())["id"]
    with serve(npm_like) as server:
        # This machine reaches no public web: the HTTP example gets its JSON from a
        # local server, which the address guard allows only when told to (the test
        # workers are; see tests/conftest.py).
        settings.OAWEB_HTTP_ALLOW_PRIVATE = True
        extra = ["--input", f"url={server.url}/htmx.org/latest"] if slug == "http-json" else []
        extra += ANSWERS.get(slug, [])  # a person's part, for the examples that wait for one
        code, output = run_command(slug, "--wait", "--json", "--timeout", "120", *extra)

    result = json.loads(output)
    assert code == 0, result
    assert result["status"] == "succeeded"
    assert result["workflow"] == slug
    assert all(step["status"] in ("succeeded", "skipped") for step in result["steps"])
    if slug == "http-json":
        assert result["outputs"]["value"] == "2.0.4"
    if slug == "orders-for-two-customers":
        assert "Ada Lovelace" in result["outputs"]["summaries"] and "Charles Babbage" in result["outputs"]["summaries"]
    if slug == "refund-approval":
        assert result["outputs"] == {"approved_by": "cli"}
    if slug == "wait-for-payment":
        assert result["outputs"] == {"receipt": 'INV-1 paid: {"amount": 40}'}


def test_failed_run_exits_1_and_reports_the_failed_step(workers):
    Workflow.import_definition({"id": "doomed", "steps": [{"id": "s", "component": "test.raise"}]}, Team.default())

    code, output = run_command("doomed", "--wait", "--json")

    assert code == 1
    assert json.loads(output)["steps"][0]["status"] == "failed"


def test_inputs_are_parsed_as_json_when_they_parse(workers):
    definition = {
        "id": "echo",
        "inputs": {"n": {"type": "integer"}, "word": {"type": "string"}},
        "steps": [{"id": "s", "component": "core.noop", "inputs": {"n": "{{ inputs.n }}", "w": "{{ inputs.word }}"}}],
        "outputs": {"n": "{{ steps.s.outputs.n }}", "w": "{{ steps.s.outputs.w }}"},
    }
    Workflow.import_definition(definition, Team.default())

    code, output = run_command("echo", "--input", "n=3", "--input", "word=hello", "--wait", "--json")

    assert code == 0
    assert json.loads(output)["outputs"] == {"n": 3, "w": "hello"}


def test_refused_run_is_a_command_error_naming_the_input(workers):
    from django.core.management.base import CommandError

    definition = {"id": "typed", "inputs": {"n": {"type": "integer"}}, "steps": [{"id": "s", "component": "core.noop"}]}
    Workflow.import_definition(definition, Team.default())

    with pytest.raises(CommandError, match="n"):
        run_command("typed", "--input", "n=three", "--wait")
