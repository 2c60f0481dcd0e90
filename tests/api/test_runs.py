"""Runs over the API: start, watch, read outputs, cancel, re-run, filter; teams kept apart."""

import time

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import as_user
from tests.conftest import noop_definition
from workflows.execution.models import Run
from workflows.execution.runs import wait_for_run
from workflows.models import Team, Workflow


@pytest.fixture
def hello(workers, owner, team):
    return Workflow.import_definition(noop_definition("hello"), team=team, author=owner)[0].workflow


def test_a_started_run_can_be_watched_to_completion_and_its_outputs_read(workers, hello, owner):
    api = as_user(APIClient(), owner)

    started = api.post("/api/v1/runs/", {"workflow": "hello", "inputs": {"greeting": "hey"}}, format="json")

    assert started.status_code == 201, started.json()
    run_id = started.json()["id"]
    wait_for_run(Run.objects.get(pk=run_id))
    detail = api.get(f"/api/v1/runs/{run_id}/").json()
    assert detail["status"] == "succeeded"
    assert detail["outputs"] == {"value": "hey"}
    assert [step["status"] for step in detail["steps"]] == ["succeeded", "succeeded"]
    step = api.get(f"/api/v1/steps/{detail['steps'][0]['id']}/").json()
    assert step["attempts"][0]["status"] == "succeeded"
    assert Run.objects.get(pk=run_id).trigger == "api"


def test_bad_inputs_refuse_the_run_naming_the_field(workers, owner):
    Workflow.import_definition(
        {"id": "typed", "inputs": {"n": {"type": "integer"}}, "steps": [{"id": "s", "component": "core.noop"}]},
        team=Team.objects.get(name="alpha"),
    )
    api = as_user(APIClient(), owner)

    response = api.post("/api/v1/runs/", {"workflow": "typed", "inputs": {"n": "three"}}, format="json")

    assert response.status_code == 400
    assert "n" in str(response.json())
    assert Run.objects.count() == 0


def test_runs_of_other_teams_are_404_and_cannot_be_started(workers, hello, outsider, owner):
    api = as_user(APIClient(), owner)
    run_id = api.post("/api/v1/runs/", {"workflow": "hello"}, format="json").json()["id"]
    wait_for_run(Run.objects.get(pk=run_id))
    stranger = as_user(APIClient(), outsider)

    assert stranger.get(f"/api/v1/runs/{run_id}/").status_code == 404
    assert stranger.post(f"/api/v1/runs/{run_id}/cancel/").status_code == 404
    assert stranger.post("/api/v1/runs/", {"workflow": "hello"}, format="json").status_code == 404
    assert stranger.get("/api/v1/runs/").json()["results"] == []


def test_cancel_and_rerun(workers, owner, team):
    definition = {"id": "slow", "steps": [{"id": "s", "component": "core.sleep", "inputs": {"seconds": 0.5}}]}
    Workflow.import_definition(definition, team=team)
    api = as_user(APIClient(), owner)
    run_id = api.post("/api/v1/runs/", {"workflow": "slow"}, format="json").json()["id"]

    cancelled = api.post(f"/api/v1/runs/{run_id}/cancel/")
    again = api.post(f"/api/v1/runs/{run_id}/rerun/")

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert api.post(f"/api/v1/runs/{run_id}/cancel/").status_code == 409
    assert again.status_code == 201
    new = wait_for_run(Run.objects.get(pk=again.json()["id"]))
    assert new.status == "succeeded" and new.rerun_of_id == run_id
    assert api.post(f"/api/v1/runs/{new.pk}/rerun/").status_code == 409


def test_runs_are_filtered_and_ordered(workers, hello, owner):
    api = as_user(APIClient(), owner)
    first = api.post("/api/v1/runs/", {"workflow": "hello"}, format="json").json()["id"]
    time.sleep(0.01)
    second = api.post("/api/v1/runs/", {"workflow": "hello"}, format="json").json()["id"]
    for run in Run.objects.all():
        wait_for_run(run)

    newest_first = [run["id"] for run in api.get("/api/v1/runs/?workflow=hello").json()["results"]]
    oldest_first = [run["id"] for run in api.get("/api/v1/runs/?ordering=created").json()["results"]]
    assert newest_first == [second, first] and oldest_first == [first, second]
    assert api.get("/api/v1/runs/?status=failed").json()["results"] == []
    assert api.get("/api/v1/runs/?status=bogus").status_code == 400
    assert api.get("/api/v1/runs/?created_after=2100-01-01T00:00:00Z").json()["results"] == []


def test_metrics_summary_counts_runs_and_steps(workers, hello, owner):
    api = as_user(APIClient(), owner)
    run_id = api.post("/api/v1/runs/", {"workflow": "hello"}, format="json").json()["id"]
    wait_for_run(Run.objects.get(pk=run_id))

    summary = api.get("/api/v1/metrics/summary?hours=1").json()

    assert summary["runs"] == {"succeeded": 1}
    assert summary["steps"] == {"succeeded": 2}
    assert summary["run_seconds_p50"] is not None
    assert api.get("/api/v1/metrics/summary?hours=0").status_code == 400


def test_steps_and_metrics_of_other_teams_stay_hidden(workers, hello, owner, outsider):
    api = as_user(APIClient(), owner)
    run_id = api.post("/api/v1/runs/", {"workflow": "hello"}, format="json").json()["id"]
    wait_for_run(Run.objects.get(pk=run_id))
    step_id = api.get(f"/api/v1/runs/{run_id}/").json()["steps"][0]["id"]
    stranger = as_user(APIClient(), outsider)

    assert stranger.get(f"/api/v1/steps/{step_id}/").status_code == 404
    assert stranger.get("/api/v1/metrics/summary").json()["runs"] == {}
    assert stranger.get("/api/v1/workflows/hello/versions/").status_code == 404
