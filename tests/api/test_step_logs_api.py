"""GET /api/v1/runs/{id}/steps/{step}/logs: a step's log per attempt, for those who may see the run."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.api.conftest import as_user
from tests.web.conftest import make_run
from workflows.execution.models import StepAttempt

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_run(make_workflow):
    """A run whose step s1 failed once, logging two lines, then succeeded logging one; s2 logged nothing."""
    run = make_run(make_workflow(), {"s1": "succeeded", "s2": "succeeded"}, run_status="succeeded")
    now = timezone.now()
    s1 = run.steps.get(step_id="s1")
    StepAttempt.objects.bulk_create(
        [
            StepAttempt(step_run=s1, number=1, status="failed", started=now, finished=now, log="first\n  indented"),
            StepAttempt(step_run=s1, number=2, status="succeeded", started=now, finished=now, log="second"),
            StepAttempt(step_run=run.steps.get(step_id="s2"), number=1, status="succeeded", started=now, finished=now),
        ]
    )
    return run


def url(run, step="s1", query=""):
    return f"/api/v1/runs/{run.pk}/steps/{step}/logs{query}"


def test_a_team_member_reads_every_attempts_lines(logged_run, owner_api):
    response = owner_api.get(url(logged_run))

    assert response.status_code == 200
    assert response.json() == {
        "run": logged_run.pk,
        "step": "s1",
        "attempts": [
            {"number": 1, "status": "failed", "lines": ["first", "  indented"]},
            {"number": 2, "status": "succeeded", "lines": ["second"]},
        ],
    }


def test_one_attempt_and_a_step_that_logged_nothing(logged_run, owner_api):
    assert owner_api.get(url(logged_run, query="?attempt=2")).json()["attempts"] == [
        {"number": 2, "status": "succeeded", "lines": ["second"]}
    ]
    assert owner_api.get(url(logged_run, step="s2")).json()["attempts"] == [
        {"number": 1, "status": "succeeded", "lines": []}
    ]
    assert owner_api.get(url(logged_run, query="?attempt=0")).status_code == 400


def test_another_teams_user_gets_404_like_a_missing_run_or_step(logged_run, outsider_api, owner_api):
    outsider = outsider_api.get(url(logged_run))

    assert outsider.status_code == 404
    assert "first" not in outsider.content.decode()
    assert owner_api.get(url(logged_run, step="nope")).status_code == 404
    assert owner_api.get(f"/api/v1/runs/{logged_run.pk + 1000}/steps/s1/logs").status_code == 404


def test_staff_may_read_it(logged_run, staff):
    assert as_user(APIClient(), staff).get(url(logged_run)).status_code == 200


def test_anonymous_gets_401_and_writes_are_refused(logged_run, owner_api):
    anonymous = APIClient().get(url(logged_run))

    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"
    assert owner_api.post(url(logged_run), {}, format="json").status_code == 405
    assert owner_api.delete(url(logged_run)).status_code == 405


def test_the_schema_documents_it(client, owner):
    client.force_login(owner)

    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = schema["paths"]["/api/v1/runs/{id}/steps/{step}/logs"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"id", "step", "attempt"}
    assert {"200", "401", "404"} <= operation["responses"].keys()
