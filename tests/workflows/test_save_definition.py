"""One rule, three doors: the API, the editor and import_workflow all save through services.save_definition.

Each test changes one rule inside the service, and only there, and shows
every door refusing the same definition, each in its own way (a status
code, a page, an exit code), with nothing stored.
"""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from rest_framework.test import APIClient

from tests.api.conftest import as_user
from tests.conftest import noop_definition
from workflows import services
from workflows.definitions.validation import make_issue
from workflows.models import Workflow, WorkflowVersion


def stored():
    return sorted(WorkflowVersion.objects.values_list("workflow__slug", "version", "content_hash"))


def through_api(user, definition):
    return as_user(APIClient(), user).post("/api/v1/workflows/", {"definition": definition}, format="json")


def through_editor(login, user, definition):
    return login(user).post(reverse("workflow-new"), {"source": json.dumps(definition, indent=2)})


def through_cli(tmp_path, definition) -> tuple[int, str]:
    """(exit code, stderr with the CommandError's message)."""
    path = tmp_path / f"{definition['id']}.json"
    path.write_text(json.dumps(definition), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_workflow", str(path), stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, err.getvalue() + str(exc)
    return 0, err.getvalue()


@pytest.fixture
def changed(make_workflow):
    """A new version of an existing workflow of the owner's team: every door would store it."""
    make_workflow(noop_definition("hello"))
    definition = noop_definition("hello", steps=3)
    definition["version"] = "2.0.0"
    return definition


def test_the_unchanged_rules_let_every_door_save(components, owner, login, tmp_path, changed):
    assert through_api(owner, changed).status_code == 201
    changed["version"], changed["description"] = "3.0.0", "again"
    assert through_editor(login, owner, changed).status_code == 302
    changed["version"], changed["description"] = "4.0.0", "and again"
    assert through_cli(tmp_path, changed)[0] == 0
    assert Workflow.objects.get(slug="hello").versions.count() == 4


def test_a_stricter_ownership_rule_reaches_every_door(components, owner, login, tmp_path, changed, monkeypatch):
    def frozen(existing, user, team=None):  # nobody may add a version to an existing workflow any more
        message = f"the id {existing.slug!r} is taken by another team's workflow"
        issue = make_issue("id_taken", message, "/id", "choose another id")
        raise services.DefinitionRefused(services.TAKEN, message, [issue], workflow=existing)

    monkeypatch.setattr(services, "check_not_taken", frozen)
    before = stored()

    response = through_api(owner, changed)
    assert response.status_code == 409
    assert "taken by another team" in response.json()["detail"]

    response = through_editor(login, owner, changed)
    assert response.status_code == 400
    assert "taken by another team" in response.content.decode()

    code, err = through_cli(tmp_path, changed)
    assert code == 1
    assert "taken by another team" in err and "nothing imported" in err

    assert stored() == before


def test_a_new_rule_reaches_every_door(components, owner, login, tmp_path, monkeypatch):
    """A rule with a code no door knows yet: each answers it as a bad definition, naming the issue."""
    check_definition = services.check_definition

    def no_reserved_ids(definition_or_source):
        definition, warnings = check_definition(definition_or_source)
        if definition["id"] == "admin":
            issue = make_issue("reserved_id", "the id `admin` is reserved", "/id", "choose another id")
            raise services.DefinitionRefused("reserved", "the id 'admin' is reserved", [issue])
        return definition, warnings

    monkeypatch.setattr(services, "check_definition", no_reserved_ids)
    definition = noop_definition("admin")

    response = through_api(owner, definition)
    assert response.status_code == 400
    assert response.json() == {"valid": False, "issues": [issue_of("reserved_id")]}

    response = through_editor(login, owner, definition)
    assert response.status_code == 400
    assert "the id `admin` is reserved" in response.content.decode()

    code, err = through_cli(tmp_path, definition)
    assert code == 1
    assert "admin.json: /id: error reserved_id: the id `admin` is reserved" in err

    assert not Workflow.objects.exists()
    assert through_api(owner, noop_definition("not-admin")).status_code == 201


def issue_of(code):
    return {
        "code": code,
        "severity": "error",
        "message": "the id `admin` is reserved",
        "path": "/id",
        "suggestion": "choose another id",
    }
