"""Bad requests get a 4xx naming the problem, never a 500, and change nothing."""

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import as_user
from tests.conftest import noop_definition
from workflows.models import Workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(owner, components):
    return as_user(APIClient(), owner)


def post_raw(api, path, body: bytes, content_type="application/json"):
    return api.generic("POST", path, body, content_type=content_type)


def test_a_body_over_the_limit_is_413(api, settings):
    settings.OAWEB_API_MAX_BODY_BYTES = 2048

    response = post_raw(api, "/api/v1/validate", b'{"id": "' + b"x" * 4096 + b'"}')

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"definition": {', "malformed JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[" * 10_000 + b"]" * 10_000, "nested too deeply"),
    ],
    ids=["malformed", "not-utf8", "deep"],
)
def test_unreadable_bodies_are_400_naming_the_problem(api, body, expected):
    response = post_raw(api, "/api/v1/workflows/", body)

    assert response.status_code == 400
    assert expected in response.json()["detail"]
    assert not Workflow.objects.exists()


def test_another_content_type_is_415(api):
    assert post_raw(api, "/api/v1/validate", b"id=x", "application/x-www-form-urlencoded").status_code == 415


@pytest.mark.parametrize(
    "body",
    [
        {"definition": noop_definition("x"), "colour": "blue"},
        {"definitions": noop_definition("x")},
        {"definition": noop_definition("x"), "team": 7},
        ["not", "an", "object"],
    ],
    ids=["unknown-field", "misspelt-field", "wrong-type", "not-an-object"],
)
def test_wrong_fields_and_types_are_400(api, body):
    response = api.post("/api/v1/workflows/", body, format="json")

    assert response.status_code == 400
    assert not Workflow.objects.exists()


@pytest.mark.parametrize(
    "query", ["limit=-1", "limit=0", "limit=100000", "offset=-5", "offset=99999999999999", "limit=abc"]
)
def test_bad_page_parameters_are_400(api, query):
    assert api.get(f"/api/v1/workflows/?{query}").status_code == 400


def test_a_huge_offset_within_bounds_is_an_empty_page(api, make_workflow):
    make_workflow()

    response = api.get("/api/v1/workflows/?offset=1000000")

    assert response.status_code == 200 and response.json()["results"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"workflow": "hello", "inputs": "not an object"},
        {"workflow": "hello", "priority": 12},
        {"workflow": "hello", "priority": "high"},
        {"workflow": "no such thing!"},
        {},
    ],
)
def test_bad_run_requests_are_refused(api, make_workflow, body):
    make_workflow()

    assert api.post("/api/v1/runs/", body, format="json").status_code == 400


def test_missing_objects_are_404(api):
    for path in ["/api/v1/workflows/nope/", "/api/v1/runs/99999/", "/api/v1/steps/99999/", "/api/v1/runs/abc/"]:
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"


def test_wrong_methods_are_405(api):
    assert api.delete("/api/v1/runs/").status_code == 405
    assert api.get("/api/v1/validate").status_code == 405


def test_nul_characters_are_refused_not_a_server_error(api):
    body = api.post("/api/v1/webhooks/", {"workflow": "x\u0000", "name": "n"}, format="json")
    assert body.status_code == 400
    assert "NUL" in body.json()["detail"]
    for path in ["/api/v1/runs/?workflow=a%00b", "/api/v1/schedules/?workflow=a%00b", "/api/v1/webhooks/?workflow=%00"]:
        assert api.get(path).status_code < 500, path
