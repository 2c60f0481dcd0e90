"""GET /api/v1/metrics/summary: the rollup-based `finished` figures, beside the existing ones."""

import pytest

from tests.api.conftest import as_user
from tests.conftest import noop_definition
from tests.metrics.helpers import finished_run
from workflows.metrics import rollups

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_api(owner):
    from rest_framework.test import APIClient

    return as_user(APIClient(), owner)


def test_known_runs_give_known_counts_and_percentiles(known_runs, owner_api):
    response = owner_api.get("/api/v1/metrics/summary", {"hours": 1})

    assert response.status_code == 200
    finished = response.json()["finished"]
    assert finished["runs"] == {"succeeded": 90, "failed": 10}
    assert finished["steps"] == {"succeeded": 90, "failed": 10}
    assert finished["run_seconds"] == pytest.approx({"p50": 50.0, "p95": 95.0, "p99": 99.0})
    assert finished["step_seconds"] == pytest.approx({"p50": 5.0, "p95": 9.5, "p99": 9.9})
    assert finished["queue_wait_seconds"]["p95"] == pytest.approx(0.002, rel=rollups.WORST_RELATIVE_ERROR)


def test_other_teams_runs_are_not_counted(make_workflow, outsider, owner_api):
    finished_run(make_workflow(noop_definition("theirs"), team_=outsider.teams.first()), 1.0)

    finished = owner_api.get("/api/v1/metrics/summary").json()["finished"]

    assert finished["runs"] == {} and finished["run_seconds"] == {"p50": None, "p95": None, "p99": None}


def test_a_long_window_reads_hourly_rollups(workflow, owner_api):
    finished_run(workflow, 2.0)

    finished = owner_api.get("/api/v1/metrics/summary", {"hours": 24 * 30}).json()["finished"]

    assert finished["runs"] == {"succeeded": 1} and finished["since"].endswith(":00:00Z")
