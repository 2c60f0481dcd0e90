"""The definition editor: new, edit, import, and the validation fragment."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.conftest import make_user, noop_definition
from workflows.models import Team, Workflow
from workflows.web.editor import IMPORT_MAX_BYTES, check_source

XSS = "<script>alert(1)</script>"


def source_of(definition) -> str:
    return json.dumps(definition, indent=2)


def issues_html(client, text) -> str:
    response = client.post(reverse("workflow-validate"), {"source": text})
    assert response.status_code == 200
    return response.content.decode()


# --- access -------------------------------------------------------------------------


@pytest.fixture
def urls(make_workflow):
    make_workflow()
    return {
        "new": (reverse("workflow-new"), "get"),
        "edit": (reverse("workflow-edit", args=["hello"]), "get"),
        "validate": (reverse("workflow-validate"), "post"),
        "import": (reverse("workflow-import"), "post"),
    }


@pytest.mark.parametrize("page", ["new", "edit", "validate", "import"])
def test_anonymous_is_sent_to_login(client, urls, page):
    url, method = urls[page]
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("page", ["validate", "import"])
def test_get_is_refused_where_only_post_makes_sense(owner_client, urls, page):
    assert owner_client.get(urls[page][0]).status_code == 405


@pytest.mark.parametrize("page", ["new", "edit"])
def test_editor_refuses_other_methods(owner_client, urls, page):
    assert owner_client.put(urls[page][0]).status_code == 405


def test_outsider_cannot_open_or_save_another_teams_workflow(outsider_client, urls):
    url = urls["edit"][0]
    assert outsider_client.get(url).status_code == 404
    assert outsider_client.post(url, {"source": source_of(noop_definition())}).status_code == 404


# --- the editor page ------------------------------------------------------------------


def test_new_editor_has_a_labelled_source_with_live_validation(owner_client):
    html = owner_client.get(reverse("workflow-new")).content.decode()
    assert '<label for="source">' in html
    assert 'name="source"' in html and "data-editor" in html
    assert 'hx-post="/workflows/validate/" hx-trigger="input changed delay:400ms, load" hx-target="#issues"' in html
    assert "csrfmiddlewaretoken" in html
    assert "oaweb/editor.js" in html
    assert "?example=fan-out-fan-in" in html


def test_new_editor_starts_from_a_valid_skeleton(owner_client, components):
    response = owner_client.get(reverse("workflow-new"))
    text = response.context["source"]
    _, result = check_source(text)
    assert result["valid"], result


def test_new_editor_can_start_from_an_example(owner_client, settings):
    response = owner_client.get(reverse("workflow-new"), {"example": "fan-out-fan-in"})
    expected = (settings.BASE_DIR / "examples" / "fan-out-fan-in.json").read_text()
    assert response.context["source"] == expected
    assert owner_client.get(reverse("workflow-new"), {"example": "../settings"}).status_code == 404


def test_edit_shows_the_latest_definition_and_an_export_link(owner_client, make_workflow):
    workflow = make_workflow()
    response = owner_client.get(reverse("workflow-edit", args=["hello"]))
    assert json.loads(response.context["source"]) == workflow.latest_version().definition
    assert f"/workflows/hello/versions/{workflow.latest_version().pk}/export/" in response.content.decode()


def test_editor_escapes_the_source(owner_client, make_workflow):
    definition = {**noop_definition("xss"), "name": XSS, "description": XSS}
    definition["steps"][0]["id"] = XSS
    make_workflow(definition)
    response = owner_client.get(reverse("workflow-edit", args=["xss"]))
    html = response.content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html


# --- saving ----------------------------------------------------------------------------


def test_saving_a_new_definition_creates_the_workflow(owner_client, owner, team, components):
    response = owner_client.post(reverse("workflow-new"), {"source": source_of(noop_definition("fresh"))})
    assert response.status_code == 302
    assert response["Location"] == reverse("workflow-detail", args=["fresh"])
    workflow = Workflow.objects.get(slug="fresh")
    assert workflow.team == team
    assert workflow.latest_version().author == owner


def test_saving_an_invalid_definition_shows_the_issues(owner_client, components):
    definition = noop_definition("broken")
    definition["steps"][1]["component"] = "core.nope"
    response = owner_client.post(reverse("workflow-new"), {"source": source_of(definition)})
    html = response.content.decode()
    assert response.status_code == 400
    assert "no component `core.nope` in the registry" in html
    assert not Workflow.objects.filter(slug="broken").exists()


def test_an_id_taken_by_another_team_is_an_error_not_a_crash(owner_client, other_team, components):
    Workflow.import_definition(noop_definition("theirs"), team=other_team)
    response = owner_client.post(reverse("workflow-new"), {"source": source_of(noop_definition("theirs"))})
    assert response.status_code == 400
    assert "taken by another team" in response.content.decode()
    assert Workflow.objects.get(slug="theirs").versions.count() == 1


def test_a_user_in_no_team_is_told_so(login, db, components):
    client = login(make_user("loner"))
    response = client.post(reverse("workflow-new"), {"source": source_of(noop_definition("lonely"))})
    assert response.status_code == 400
    assert "you are in none or several" in response.content.decode()


def test_a_user_in_several_teams_chooses_one(login, team, other_team, components):
    client = login(make_user("both", team, other_team))
    html = client.get(reverse("workflow-new")).content.decode()
    assert 'name="team"' in html
    response = client.post(reverse("workflow-new"), {"source": source_of(noop_definition("x")), "team": "beta"})
    assert response.status_code == 302
    assert Workflow.objects.get(slug="x").team == Team.objects.get(name="beta")


def test_edit_saves_a_new_version_only_when_the_content_changed(owner_client, make_workflow, components):
    workflow = make_workflow()
    url = reverse("workflow-edit", args=["hello"])
    same = owner_client.post(url, {"source": source_of(noop_definition())}, follow=True)
    assert workflow.versions.count() == 1
    assert "No changes: nothing saved" in same.content.decode()

    changed = owner_client.post(url, {"source": source_of(noop_definition(steps=3))}, follow=True)
    assert workflow.versions.count() == 2
    assert "Saved version 1.0.1" in changed.content.decode()


def test_edit_refuses_a_definition_with_another_id(owner_client, make_workflow, components):
    workflow = make_workflow()
    url = reverse("workflow-edit", args=["hello"])
    response = owner_client.post(url, {"source": source_of(noop_definition("renamed"))})
    html = response.content.decode()
    assert response.status_code == 400
    assert "this is workflow `hello`" in html
    assert workflow.versions.count() == 1
    assert not Workflow.objects.filter(slug="renamed").exists()


def test_editor_post_without_csrf_token_is_forbidden(owner, components):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(reverse("workflow-new"), {"source": source_of(noop_definition("nope"))})
    assert response.status_code == 403


# --- the validation fragment -----------------------------------------------------------


def test_valid_source_says_so(owner_client, components):
    html = issues_html(owner_client, source_of(noop_definition()))
    assert "Valid: no problems found" in html
    assert 'data-bad-lines=""' in html
    assert "<html" not in html


def test_unknown_component_shows_path_message_suggestion_and_line(owner_client, components):
    definition = noop_definition(steps=3)
    definition["steps"][2]["component"] = "core.noopp"
    text = source_of(definition)
    line = 1 + next(number for number, content in enumerate(text.splitlines()) if "core.noopp" in content)
    html = issues_html(owner_client, text)
    assert '<code class="path">/steps/2/component</code>' in html
    assert "no component `core.noopp` in the registry" in html
    assert "did you mean `core.noop`?" in html
    assert f'data-line="{line}">line {line}</button>' in html
    assert f'data-bad-lines="{line}"' in html


def test_a_missing_key_points_at_its_nearest_parent_line(components):
    definition = noop_definition()
    del definition["steps"][1]["component"]
    text = source_of(definition)
    _, result = check_source(text)
    issue = next(issue for issue in result["issues"] if issue["path"].startswith("/steps/1"))
    step_line = 1 + next(n for n, content in enumerate(text.splitlines()) if '"id": "s2"' in content) - 1
    assert issue["line"] == step_line  # the `{` opening /steps/1


def test_json_syntax_error_shows_line_and_column(owner_client):
    text = '{\n  "id": "x",\n  "name": oops\n}'
    html = issues_html(owner_client, text)
    assert "line 3 column 11" in html
    assert 'data-bad-lines="3"' in html


def test_validation_fragment_escapes_what_it_quotes(owner_client, components):
    definition = noop_definition()
    definition["steps"][0]["id"] = XSS
    html = issues_html(owner_client, source_of(definition))
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html


# --- import ------------------------------------------------------------------------------


def upload(content: bytes, name="workflow.json"):
    return SimpleUploadedFile(name, content, content_type="application/json")


def test_import_creates_a_workflow(owner_client, team, components):
    file = upload(source_of(noop_definition("imported")).encode())
    response = owner_client.post(reverse("workflow-import"), {"file": file})
    assert response.status_code == 302
    assert response["Location"] == reverse("workflow-detail", args=["imported"])
    assert Workflow.objects.get(slug="imported").team == team


def test_import_adds_a_version_to_an_existing_workflow_of_the_team(owner_client, make_workflow, components):
    workflow = make_workflow()
    file = upload(source_of(noop_definition(steps=4)).encode())
    owner_client.post(reverse("workflow-import"), {"file": file})
    assert workflow.versions.count() == 2


def test_import_refuses_invalid_json_with_the_issue(owner_client):
    response = owner_client.post(reverse("workflow-import"), {"file": upload(b'{"id": ')})
    assert response.status_code == 400
    assert "not valid JSON" in response.content.decode()


def test_import_refuses_a_file_that_is_not_utf8(owner_client):
    response = owner_client.post(reverse("workflow-import"), {"file": upload(b"\xff\xfe{}")}, follow=True)
    assert "is not UTF-8 text" in response.content.decode()
    assert not Workflow.objects.exists()


def test_import_refuses_a_file_too_large(owner_client):
    big = upload(b" " * (IMPORT_MAX_BYTES + 1))
    response = owner_client.post(reverse("workflow-import"), {"file": big}, follow=True)
    assert "are accepted" in response.content.decode()


def test_import_without_a_file_asks_for_one(owner_client):
    response = owner_client.post(reverse("workflow-import"), {}, follow=True)
    assert "Choose a JSON file" in response.content.decode()
