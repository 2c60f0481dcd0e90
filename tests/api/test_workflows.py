"""Workflows and versions over the API: create, new version, read, delete; teams kept apart."""

import pytest

from tests.conftest import noop_definition
from workflows.models import Workflow

pytestmark = pytest.mark.django_db


def test_create_stores_a_valid_definition_for_the_users_team(owner_api, components, team):
    response = owner_api.post("/api/v1/workflows/", {"definition": noop_definition("made")}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["slug"] == "made" and response.json()["latest_version"] == "1.0.0"
    assert Workflow.objects.get(slug="made").team == team


def test_invalid_definition_is_refused_with_the_validation_result(owner_api, components):
    definition = noop_definition("broken")
    definition["steps"][0]["component"] = "text.templat"

    response = owner_api.post("/api/v1/workflows/", {"definition": definition}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["valid"] is False
    assert body["issues"][0]["code"] == "unknown_component"
    assert not Workflow.objects.filter(slug="broken").exists()


def test_posting_identical_content_twice_creates_nothing_new(owner_api, components):
    first = owner_api.post("/api/v1/workflows/", {"definition": noop_definition("twice")}, format="json")
    second = owner_api.post("/api/v1/workflows/", {"definition": noop_definition("twice")}, format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert Workflow.objects.get(slug="twice").versions.count() == 1


def test_update_adds_a_version_and_versions_are_listed_and_readable(owner_api, components, make_workflow):
    make_workflow(noop_definition("evolving"))
    changed = {**noop_definition("evolving", steps=3), "version": "1.1.0"}

    response = owner_api.put("/api/v1/workflows/evolving/", {"definition": changed}, format="json")

    assert response.status_code == 201
    listed = owner_api.get("/api/v1/workflows/evolving/versions/").json()
    assert [item["version"] for item in listed["results"]] == ["1.1.0", "1.0.0"]
    detail = owner_api.get("/api/v1/workflows/evolving/versions/1.1.0/").json()
    assert len(detail["definition"]["steps"]) == 3


def test_update_refuses_a_definition_with_another_id(owner_api, components, make_workflow):
    make_workflow(noop_definition("mine"))

    response = owner_api.put("/api/v1/workflows/mine/", {"definition": noop_definition("other")}, format="json")

    assert response.status_code == 400


def test_other_teams_workflows_are_invisible_and_untouchable(outsider_api, components, make_workflow):
    make_workflow(noop_definition("private"))

    assert outsider_api.get("/api/v1/workflows/").json()["results"] == []
    assert outsider_api.get("/api/v1/workflows/private/").status_code == 404
    assert outsider_api.delete("/api/v1/workflows/private/").status_code == 404
    response = outsider_api.post("/api/v1/workflows/", {"definition": noop_definition("private")}, format="json")
    assert response.status_code == 409
    assert Workflow.objects.get(slug="private").versions.count() == 1


def test_delete_removes_the_workflow(owner_api, components, make_workflow):
    make_workflow(noop_definition("doomed"))

    assert owner_api.delete("/api/v1/workflows/doomed/").status_code == 204
    assert not Workflow.objects.filter(slug="doomed").exists()


def test_staff_see_every_team(api, staff, components, make_workflow):
    from tests.api.conftest import as_user

    make_workflow(noop_definition("anyone"))

    assert as_user(api, staff).get("/api/v1/workflows/anyone/").status_code == 200


def test_validate_answers_without_saving(owner_api, components):
    definition = noop_definition("draft")
    definition["steps"].append(dict(definition["steps"][0]))

    response = owner_api.post("/api/v1/validate", definition, format="json")

    assert response.status_code == 200
    assert [issue["code"] for issue in response.json()["issues"]] == ["duplicate_step_id"]
    assert not Workflow.objects.filter(slug="draft").exists()
    assert owner_api.post("/api/v1/validate?mode=loose", definition, format="json").status_code == 400


def test_components_are_listed_and_read_by_name(owner_api, components):
    names = [item["name"] for item in owner_api.get("/api/v1/components/?limit=200").json()["results"]]
    assert "text.template" in names
    detail = owner_api.get("/api/v1/components/text.template/")
    assert detail.status_code == 200
    assert detail.json()["name"] == "text.template"


def test_patch_stores_a_new_version_like_put(owner_api, components, make_workflow):
    make_workflow(noop_definition("patched"))
    changed = {**noop_definition("patched", steps=3), "version": "1.1.0"}

    created = owner_api.patch("/api/v1/workflows/patched/", {"definition": changed}, format="json")
    again = owner_api.patch("/api/v1/workflows/patched/", {"definition": changed}, format="json")

    assert (created.status_code, again.status_code) == (201, 200)
    assert created.json()["latest_version"] == "1.1.0"
    assert Workflow.objects.get(slug="patched").versions.count() == 2


def test_an_invalid_update_stores_nothing(owner_api, components, make_workflow):
    make_workflow(noop_definition("kept"))
    broken = {**noop_definition("kept"), "version": "1.1.0"}
    broken["steps"][0]["component"] = "no.such"

    response = owner_api.put("/api/v1/workflows/kept/", {"definition": broken}, format="json")

    assert response.status_code == 400 and response.json()["valid"] is False
    assert Workflow.objects.get(slug="kept").versions.count() == 1
