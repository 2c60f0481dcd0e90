"""The workflow list, a workflow's page, starting a run from it, diffs and exports."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import noop_definition
from workflows.execution.models import Run
from workflows.models import Workflow
from workflows.web.workflow_pages import diff_lines

XSS = "<script>alert(1)</script>"


def assert_escaped(response):
    html = response.content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html


def typed_definition(slug="typed"):
    definition = noop_definition(slug, steps=1)
    definition["inputs"] = {
        "name": {"type": "string", "description": "who"},
        "count": {"type": "integer", "default": 2},
        "ratio": {"type": "number", "default": 0.5},
        "loud": {"type": "boolean", "default": False},
        "mode": {"enum": ["fast", "slow"], "default": "fast"},
        "options": {"type": "object", "default": {"a": 1}},
    }
    definition["steps"][0]["inputs"] = {name: f"{{{{ inputs.{name} }}}}" for name in definition["inputs"]}
    return definition


# --- access ----------------------------------------------------------------------------


@pytest.fixture
def urls(make_workflow):
    workflow = make_workflow()
    version = workflow.latest_version()
    return {
        "list": (reverse("workflow-list"), "get"),
        "detail": (reverse("workflow-detail", args=[workflow.slug]), "get"),
        "diff": (reverse("workflow-diff", args=[workflow.slug]) + f"?a={version.pk}&b={version.pk}", "get"),
        "export": (reverse("version-export", args=[workflow.slug, version.pk]), "get"),
        "run": (reverse("workflow-run", args=[workflow.slug]), "post"),
    }


@pytest.mark.parametrize("page", ["list", "detail", "diff", "export", "run"])
def test_anonymous_is_sent_to_login(client, urls, page):
    url, method = urls[page]
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("page", ["list", "detail", "diff", "export", "run"])
def test_wrong_method_is_refused(owner_client, urls, page):
    url, method = urls[page]
    response = (owner_client.get if method == "post" else owner_client.post)(url)
    assert response.status_code == 405


@pytest.mark.parametrize("page", ["detail", "diff", "export", "run"])
def test_outsider_gets_404_for_another_teams_workflow(outsider_client, urls, page):
    url, method = urls[page]
    assert getattr(outsider_client, method)(url).status_code == 404


def test_outsider_list_does_not_show_another_teams_workflows(outsider_client, urls):
    response = outsider_client.get(reverse("workflow-list"))
    assert response.status_code == 200
    assert "/workflows/hello/" not in response.content.decode()


def test_staff_sees_every_workflow(login, staff, urls):
    assert login(staff).get(urls["detail"][0]).status_code == 200


# --- the list ------------------------------------------------------------------------------


def test_list_shows_latest_version_tags_and_last_run(owner_client, make_workflow, owner, components):
    definition = {**noop_definition("tagged"), "tags": ["nightly"], "version": "2.3.4"}
    workflow = make_workflow(definition)
    run = Run.objects.create(workflow=workflow, version=workflow.latest_version(), status="failed")
    html = owner_client.get(reverse("workflow-list")).content.decode()
    assert "2.3.4" in html
    assert 'class="tag"' in html and "nightly" in html
    assert f'href="/runs/{run.pk}/"' in html
    assert "st-failed" in html


def test_search_matches_name_slug_and_description(owner_client, make_workflow):
    make_workflow({**noop_definition("alpha-report"), "description": "weekly numbers"})
    make_workflow(noop_definition("beta-mailer"))
    html = owner_client.get(reverse("workflow-list"), {"q": "WEEKLY"}).content.decode()
    assert "alpha-report" in html and "beta-mailer" not in html
    html = owner_client.get(reverse("workflow-list"), {"q": "mailer"}).content.decode()
    assert "beta-mailer" in html and "alpha-report" not in html


def test_tag_filter(owner_client, make_workflow):
    make_workflow({**noop_definition("one"), "tags": ["etl"]})
    make_workflow({**noop_definition("two"), "tags": ["ml"]})
    html = owner_client.get(reverse("workflow-list"), {"tag": "etl"}).content.decode()
    assert "/workflows/one/" in html and "/workflows/two/" not in html


def test_htmx_search_renders_only_the_list_partial(owner_client, make_workflow):
    make_workflow()
    response = owner_client.get(reverse("workflow-list"), {"q": "hel"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "/workflows/hello/" in html
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_search_box_updates_through_htmx_with_a_plain_form_fallback(owner_client):
    html = owner_client.get(reverse("workflow-list")).content.decode()
    assert 'hx-trigger="input changed delay:300ms, search"' in html
    assert 'method="get" action="/workflows/"' in html


def test_empty_list_invites_to_create_import_or_start_from_an_example(owner_client):
    html = owner_client.get(reverse("workflow-list")).content.decode()
    assert "No workflows yet" in html
    assert reverse("workflow-new") in html
    assert "?example=fan-out-fan-in" in html
    assert 'name="file"' in html and 'enctype="multipart/form-data"' in html


def test_list_is_paginated(owner_client, make_workflow):
    for number in range(30):
        make_workflow(noop_definition(f"wf-{number:02d}"))
    first = owner_client.get(reverse("workflow-list")).content.decode()
    second = owner_client.get(reverse("workflow-list"), {"page": 2}).content.decode()
    assert "/workflows/wf-00/" in first and "/workflows/wf-29/" not in first
    assert "/workflows/wf-29/" in second
    assert "page=2" in first


def test_list_escapes_names_and_descriptions(owner_client, make_workflow):
    make_workflow({**noop_definition("xss"), "name": XSS, "description": XSS})
    assert_escaped(owner_client.get(reverse("workflow-list")))


# --- one workflow -----------------------------------------------------------------------------


def test_detail_shows_versions_newest_first_dag_and_triggers_panel(owner_client, make_workflow, owner):
    workflow = make_workflow()
    workflow.add_version(noop_definition(steps=3) | {"version": "1.1.0"}, author=owner)
    html = owner_client.get(reverse("workflow-detail", args=["hello"])).content.decode()
    assert html.index("1.1.0") < html.index("1.0.0")
    assert 'class="dag"' in html and 'data-graph="workflow-dag-data"' in html
    assert '<script id="workflow-dag-data" type="application/json">' in html
    assert 'hx-get="/workflows/hello/triggers/" hx-trigger="load"' in html
    assert "/workflows/hello/diff/" in html
    newest = workflow.latest_version()
    assert f"/workflows/hello/versions/{newest.pk}/export/" in html
    assert newest.content_hash[:12] in html


def test_detail_draws_the_chosen_version(owner_client, make_workflow, owner):
    workflow = make_workflow()
    first = workflow.latest_version()
    workflow.add_version(noop_definition(steps=3), author=owner)
    html = owner_client.get(reverse("workflow-detail", args=["hello"]), {"version": first.pk}).content.decode()
    assert "s3" not in html.split('id="workflow-dag-data"')[1].split("</script>")[0]
    assert "Steps of version 1.0.0" in html


def test_detail_404_for_a_version_of_another_workflow(owner_client, make_workflow):
    make_workflow()
    other = make_workflow(noop_definition("other"))
    url = reverse("workflow-detail", args=["hello"])
    assert owner_client.get(url, {"version": other.latest_version().pk}).status_code == 404


def test_detail_lists_recent_runs(owner_client, make_workflow):
    workflow = make_workflow()
    run = Run.objects.create(workflow=workflow, version=workflow.latest_version(), status="succeeded")
    html = owner_client.get(reverse("workflow-detail", args=["hello"])).content.decode()
    assert f'href="/runs/{run.pk}/"' in html


def test_detail_escapes_names_descriptions_and_step_ids(owner_client, make_workflow):
    definition = {**noop_definition("xss", steps=1), "name": XSS, "description": XSS}
    definition["steps"][0]["id"] = XSS  # not a valid id, but stored rows must never be trusted
    make_workflow(definition)
    response = owner_client.get(reverse("workflow-detail", args=["xss"]))
    assert_escaped(response)
    assert "\\u003Cscript\\u003E" in response.content.decode()  # inside the graph's JSON


def test_detail_forms_carry_the_csrf_token(owner_client, make_workflow):
    make_workflow()
    html = owner_client.get(reverse("workflow-detail", args=["hello"])).content.decode()
    assert 'action="/workflows/hello/run/"' in html
    assert "csrfmiddlewaretoken" in html.split('action="/workflows/hello/run/"')[1]


# --- the run form -------------------------------------------------------------------------------


def test_run_form_has_a_field_per_input_by_type(owner_client, make_workflow):
    make_workflow(typed_definition())
    html = owner_client.get(reverse("workflow-detail", args=["typed"])).content.decode()
    assert 'type="text" name="input-name"' in html and "required" in html
    assert 'type="number" step="1" name="input-count" id="f-count" value="2"' in html
    assert 'type="number" step="any" name="input-ratio" id="f-ratio" value="0.5"' in html
    assert 'type="checkbox" name="input-loud"' in html
    assert '<option value="&quot;fast&quot;" selected>fast</option>' in html
    assert 'name="input-options"' in html and "&quot;a&quot;: 1" in html


def test_run_form_starts_a_run_with_typed_inputs(owner_client, owner, make_workflow, components):
    make_workflow(typed_definition())
    form = {
        "input-name": "Ada",
        "input-count": "7",
        "input-ratio": "1.25",
        "input-loud": "on",
        "input-mode": '"slow"',
        "input-options": '{"b": [1, 2]}',
    }
    response = owner_client.post(reverse("workflow-run", args=["typed"]), form)
    run = Run.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("run-detail", args=[run.pk])
    assert run.inputs == {
        "name": "Ada",
        "count": 7,
        "ratio": 1.25,
        "loud": True,
        "mode": "slow",
        "options": {"b": [1, 2]},
    }
    assert run.trigger == "manual"
    assert run.created_by == owner


def test_run_form_applies_defaults_for_empty_fields(owner_client, make_workflow, components):
    make_workflow(typed_definition())
    owner_client.post(reverse("workflow-run", args=["typed"]), {"input-name": "Ada", "input-count": ""})
    assert Run.objects.get().inputs == {
        "name": "Ada",
        "count": 2,
        "ratio": 0.5,
        "loud": False,
        "mode": "fast",
        "options": {"a": 1},
    }


def test_run_form_with_a_missing_input_is_shown_again_with_the_message(owner_client, make_workflow, components):
    make_workflow(typed_definition())
    response = owner_client.post(reverse("workflow-run", args=["typed"]), {"input-count": "3"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "the workflow needs input `name`" in html
    assert 'name="input-count" id="f-count" value="3"' in html
    assert not Run.objects.exists()


def test_run_form_with_values_of_the_wrong_type_is_refused(owner_client, make_workflow, components):
    make_workflow(typed_definition())
    form = {"input-name": "Ada", "input-count": "many", "input-options": "{not json"}
    response = owner_client.post(reverse("workflow-run", args=["typed"]), form)
    html = response.content.decode()
    assert response.status_code == 400
    assert "&#x27;many&#x27; is not a whole number" in html
    assert "not valid JSON" in html
    assert not Run.objects.exists()


def test_run_inputs_are_checked_against_the_schema_by_the_engine(owner_client, make_workflow, components):
    definition = typed_definition()
    definition["inputs"]["count"]["minimum"] = 5
    make_workflow(definition)
    response = owner_client.post(reverse("workflow-run", args=["typed"]), {"input-name": "Ada", "input-count": "1"})
    assert response.status_code == 400
    assert "input `count`" in response.content.decode()
    assert not Run.objects.exists()


def test_run_form_post_without_csrf_token_is_forbidden(owner, make_workflow):
    make_workflow()
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(reverse("workflow-run", args=["hello"]), {}).status_code == 403
    assert not Run.objects.exists()


# --- diff and export ---------------------------------------------------------------------------------


def test_diff_shows_added_and_removed_lines(owner_client, make_workflow, owner):
    workflow = make_workflow()
    old = workflow.latest_version()
    changed = noop_definition()
    changed["inputs"]["greeting"]["default"] = "hello there"
    new, _ = workflow.add_version(changed, author=owner)
    response = owner_client.get(reverse("workflow-diff", args=["hello"]), {"a": old.pk, "b": new.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert '<table class="diff">' in html
    assert '<tr class="del">' in html and '<tr class="add">' in html
    assert "&quot;default&quot;: &quot;hi&quot;" in html
    assert "&quot;default&quot;: &quot;hello there&quot;" in html


def test_diff_404_for_a_version_of_another_workflow(owner_client, make_workflow):
    workflow = make_workflow()
    other = make_workflow(noop_definition("other"))
    url = reverse("workflow-diff", args=["hello"])
    query = {"a": workflow.latest_version().pk, "b": other.latest_version().pk}
    assert owner_client.get(url, query).status_code == 404
    assert owner_client.get(url).status_code == 404


def test_diff_lines_number_both_sides():
    rows = diff_lines({"a": 1, "b": 2}, {"a": 1, "b": 3})
    kinds = [row["kind"] for row in rows]
    assert kinds[:3] == ["file", "file", "hunk"]
    removed = next(row for row in rows if row["kind"] == "del")
    added = next(row for row in rows if row["kind"] == "add")
    assert removed == {"kind": "del", "old": 3, "new": None, "text": '  "b": 2'}
    assert added == {"kind": "add", "old": None, "new": 3, "text": '  "b": 3'}


def test_export_downloads_the_definition_as_json(owner_client, make_workflow):
    workflow = make_workflow()
    version = workflow.latest_version()
    response = owner_client.get(reverse("version-export", args=["hello", version.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == 'attachment; filename="hello-1.0.0.json"'
    assert json.loads(response.content) == version.definition


def test_export_404_for_a_version_of_another_workflow(owner_client, make_workflow):
    make_workflow()
    other = make_workflow(noop_definition("other"))
    url = reverse("version-export", args=["hello", other.latest_version().pk])
    assert owner_client.get(url).status_code == 404


def test_workflow_without_versions_still_has_a_page(owner_client, team):
    Workflow.objects.create(slug="bare", name="Bare", team=team)
    response = owner_client.get(reverse("workflow-detail", args=["bare"]))
    assert response.status_code == 200
    assert "no version yet" in response.content.decode()
