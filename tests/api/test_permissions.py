"""Who may do what: anonymous 401, a team member like the owner, an outsider 404, staff everything."""

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import as_user
from tests.conftest import noop_definition
from workflows.models import Workflow

pytestmark = pytest.mark.django_db

EVERY_OPERATION = [
    ("get", "/api/v1/components/"),
    ("get", "/api/v1/components/core.noop/"),
    ("get", "/api/v1/workflows/"),
    ("post", "/api/v1/workflows/"),
    ("get", "/api/v1/workflows/shared/"),
    ("put", "/api/v1/workflows/shared/"),
    ("patch", "/api/v1/workflows/shared/"),
    ("delete", "/api/v1/workflows/shared/"),
    ("get", "/api/v1/workflows/shared/versions/"),
    ("get", "/api/v1/workflows/shared/versions/1.0.0/"),
    ("post", "/api/v1/validate"),
    ("get", "/api/v1/runs/"),
    ("post", "/api/v1/runs/"),
    ("get", "/api/v1/runs/1/"),
    ("post", "/api/v1/runs/1/cancel/"),
    ("post", "/api/v1/runs/1/rerun/"),
    ("get", "/api/v1/steps/1/"),
    ("get", "/api/v1/tokens/"),
    ("post", "/api/v1/tokens/"),
    ("delete", "/api/v1/tokens/1/"),
    ("get", "/api/v1/metrics/summary"),
]


@pytest.fixture
def shared(make_workflow, components):
    return make_workflow(noop_definition("shared"))


@pytest.mark.parametrize(("method", "url"), EVERY_OPERATION)
def test_anonymous_requests_get_401_and_change_nothing(shared, method, url):
    response = getattr(APIClient(), method)(url, {}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert Workflow.objects.get(slug="shared").versions.count() == 1


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/workflows/shared/"),
        ("put", "/api/v1/workflows/shared/"),
        ("patch", "/api/v1/workflows/shared/"),
        ("delete", "/api/v1/workflows/shared/"),
        ("get", "/api/v1/workflows/shared/versions/"),
        ("get", "/api/v1/workflows/shared/versions/1.0.0/"),
    ],
)
def test_an_outsider_gets_404_for_another_teams_workflow_and_changes_nothing(shared, outsider, method, url):
    body = {"definition": {**noop_definition("shared", steps=3), "version": "2.0.0"}}

    response = getattr(as_user(APIClient(), outsider), method)(url, body, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert Workflow.objects.get(slug="shared").versions.count() == 1


def test_a_team_member_reads_and_changes_the_teams_workflows(shared, member):
    api = as_user(APIClient(), member)
    changed = {**noop_definition("shared", steps=3), "version": "1.1.0"}

    assert api.get("/api/v1/workflows/shared/").status_code == 200
    assert api.put("/api/v1/workflows/shared/", {"definition": changed}, format="json").status_code == 201
    assert api.delete("/api/v1/workflows/shared/").status_code == 204


def test_staff_change_any_teams_workflow(shared, staff):
    api = as_user(APIClient(), staff)
    changed = {**noop_definition("shared", steps=3), "version": "1.1.0"}

    assert api.patch("/api/v1/workflows/shared/", {"definition": changed}, format="json").status_code == 201
    assert Workflow.objects.get(slug="shared").latest_version().version == "1.1.0"
