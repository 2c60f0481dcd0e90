"""Inputs and outputs are shown with URL credentials masked; the database keeps them whole for later steps."""

from rest_framework.test import APIClient

from tests.api.conftest import as_user
from tests.conftest import run_definition

URL = "https://bot:hunter2@api.example.com/v1"
MASKED = "https://***@api.example.com/v1"
DEFINITION = {
    "id": "carries-a-url",
    "inputs": {"url": {"type": "string"}},
    "steps": [{"id": "echo", "component": "core.noop", "inputs": {"url": "{{ inputs.url }}"}}],
    "outputs": {"url": "{{ steps.echo.outputs.url }}"},
}


def test_the_step_panel_masks_credentials_in_inputs_and_outputs(workers, team, owner, login):
    run = run_definition(DEFINITION, inputs={"url": URL}, team=team)

    page = login(owner).get(f"/runs/{run.pk}/steps/echo/").content.decode()

    assert page.count(MASKED) == 2  # inputs and outputs
    assert "hunter2" not in page
    step = run.steps.get(step_id="echo")
    assert step.inputs == {"url": URL} and step.outputs == {"url": URL}  # stored whole


def test_the_api_masks_credentials_in_runs_and_steps(workers, team, owner):
    run = run_definition(DEFINITION, inputs={"url": URL}, team=team)
    api = as_user(APIClient(), owner)

    listed = api.get("/api/v1/runs/").json()["results"][0]
    detail = api.get(f"/api/v1/runs/{run.pk}/").json()
    step = api.get(f"/api/v1/steps/{run.steps.get(step_id='echo').pk}/").json()

    for shown in (listed, detail, step):
        assert shown["inputs"] == {"url": MASKED}
        assert shown["outputs"] == {"url": MASKED}
    run.refresh_from_db()
    assert run.inputs == {"url": URL} and run.outputs == {"url": URL}
