"""Issue 18: archiving and deleting workflows, sorting the list, bulk cancel, Run again, a run's whole story.

Every door that starts a run refuses an archived workflow; a workflow with runs
is archived, never deleted; the list sorts in one query; a run's inputs and
outputs are on its page; a long run's step table comes in pages.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import noop_definition
from tests.web.conftest import make_run
from workflows import services
from workflows.execution.models import Run, StepRun
from workflows.models import FAILURE_RATE_RUNS, Workflow
from workflows.templatetags.run_io import SHOWN_CHARS, pretty_json
from workflows.tokens import ApiToken
from workflows.triggers.models import Schedule, WebhookTrigger
from workflows.triggers.schedules import fire_schedule
from workflows.web import run_form
from workflows.web.live import TABLE_LIMIT

SECRET = "oat_abcdefghijklmnopqrstuvwxyz0123456789"


def typed_definition(slug="typed"):
    definition = noop_definition(slug, steps=1)
    definition["inputs"] = {
        "name": {"type": "string"},
        "count": {"type": "integer", "default": 2},
        "loud": {"type": "boolean", "default": False},
        "token": {"type": "string", "default": ""},
    }
    definition["steps"][0]["inputs"] = {"value": "{{ inputs.name }}"}
    return definition


def finished_run(workflow, status="succeeded", inputs=None, outputs=None, created=None):
    run = make_run(workflow, {"s1": status}, run_status=status)
    Run.objects.filter(pk=run.pk).update(
        inputs=inputs or {}, outputs=outputs, finished=timezone.now(), created=created or run.created
    )
    run.refresh_from_db()
    return run


@pytest.fixture
def urls(make_workflow):
    workflow = make_workflow()
    run = finished_run(workflow)
    return {
        "archive": (reverse("workflow-archive", args=[workflow.slug]), "post"),
        "unarchive": (reverse("workflow-unarchive", args=[workflow.slug]), "post"),
        "delete": (reverse("workflow-delete", args=[workflow.slug]), "post"),
        "again": (reverse("run-again", args=[run.pk]), "get"),
        "cancel-selected": (reverse("run-cancel-selected"), "post"),
    }


# --- access ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["archive", "unarchive", "delete", "again", "cancel-selected"])
def test_anonymous_is_sent_to_login(client, urls, name):
    url, method = urls[name]
    response = getattr(client, method)(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("name", ["archive", "unarchive", "delete", "cancel-selected"])
def test_wrong_method_is_refused(owner_client, urls, name):
    assert owner_client.get(urls[name][0]).status_code == 405


@pytest.mark.parametrize("name", ["archive", "unarchive", "delete", "again"])
def test_outsider_gets_404(outsider_client, urls, name):
    url, method = urls[name]
    assert getattr(outsider_client, method)(url).status_code == 404
    assert Workflow.objects.get().archived_at is None


# --- archive ----------------------------------------------------------------------------


def test_archived_workflows_leave_the_list_until_asked_for(owner_client, make_workflow):
    make_workflow(noop_definition("kept"))
    old = make_workflow(noop_definition("old"))
    response = owner_client.post(reverse("workflow-archive", args=["old"]))
    assert response.status_code == 302 and response["Location"] == reverse("workflow-detail", args=["old"])
    old.refresh_from_db()
    assert old.is_archived

    shown = owner_client.get(reverse("workflow-list")).content.decode()
    assert 'data-slug="kept"' in shown and 'data-slug="old"' not in shown
    archived = owner_client.get(reverse("workflow-list"), {"show": "archived"}).content.decode()
    assert 'data-slug="old"' in archived and 'data-slug="kept"' not in archived
    both = owner_client.get(reverse("workflow-list"), {"show": "all"}).content.decode()
    assert 'data-slug="old"' in both and 'data-slug="kept"' in both and "archived</span>" in both

    owner_client.post(reverse("workflow-unarchive", args=["old"]))
    assert 'data-slug="old"' in owner_client.get(reverse("workflow-list")).content.decode()


def test_an_archived_workflow_starts_no_run_through_any_door(owner_client, owner, make_workflow, components, client):
    workflow = make_workflow()
    run = finished_run(workflow, status="failed")
    schedule = Schedule.objects.create(workflow=workflow, name="nightly", cron="0 3 * * *", timezone="UTC")
    _, hook_token = WebhookTrigger.create(workflow, user=owner)
    services.archive(workflow)
    message = "workflow hello is archived: unarchive it to start runs"

    page = owner_client.get(reverse("workflow-detail", args=["hello"])).content.decode()
    assert "This workflow is archived: it starts no new runs" in page and 'data-shortcut="run"' not in page
    form = owner_client.post(reverse("workflow-run", args=["hello"]), {"input-greeting": "hi"})
    assert form.status_code == 400 and message in form.content.decode()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(owner, 'test')[1]}")
    refused = api.post("/api/v1/runs/", {"workflow": "hello", "inputs": {}}, format="json")
    assert refused.status_code == 409 and message in refused.json()["detail"]
    assert api.post(f"/api/v1/runs/{run.pk}/rerun/").status_code == 409
    hook = client.post(f"/hooks/{hook_token}/", {}, content_type="application/json")
    assert hook.status_code == 409 and message in hook.content.decode()
    assert fire_schedule(schedule) is None
    schedule.refresh_from_db()
    assert schedule.last_error == message
    assert Run.objects.count() == 1  # only the one made above

    services.unarchive(workflow)
    assert owner_client.post(reverse("workflow-run", args=["hello"])).status_code == 302
    assert Run.objects.count() == 2


def test_archiving_twice_changes_it_once(make_workflow):
    workflow = make_workflow()
    assert services.archive(workflow) is True
    first = Workflow.objects.get().archived_at
    assert services.archive(Workflow.objects.get()) is False
    assert Workflow.objects.get().archived_at == first
    assert services.unarchive(workflow) is True and services.unarchive(workflow) is False


def test_api_archives_and_unarchives(owner, make_workflow):
    make_workflow()
    api = APIClient()
    api.force_authenticate(owner)
    body = api.post("/api/v1/workflows/hello/archive/").json()
    assert body["archived_at"] is not None and Workflow.objects.get().is_archived
    assert api.post("/api/v1/workflows/hello/unarchive/").json()["archived_at"] is None


def test_admin_actions_archive_and_unarchive(login, staff, make_workflow):
    workflow = make_workflow()
    client = login(staff)
    url = reverse("admin:workflows_workflow_changelist")
    client.post(url, {"action": "archive", "_selected_action": [workflow.pk]})
    assert Workflow.objects.get().is_archived
    assert "archived_at__isempty" in client.get(url).content.decode()  # the filter
    client.post(url, {"action": "unarchive", "_selected_action": [workflow.pk]})
    assert not Workflow.objects.get().is_archived


# --- delete -----------------------------------------------------------------------------


def test_a_workflow_that_never_ran_is_deleted_with_its_schedules(owner_client, make_workflow):
    workflow = make_workflow()
    Schedule.objects.create(workflow=workflow, name="nightly", cron="0 3 * * *", timezone="UTC")
    page = owner_client.get(reverse("workflow-detail", args=["hello"])).content.decode()
    assert f'action="{reverse("workflow-delete", args=["hello"])}"' in page
    response = owner_client.post(reverse("workflow-delete", args=["hello"]), HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("workflow-list")
    assert not Workflow.objects.exists() and not Schedule.objects.exists()


def test_a_workflow_with_runs_is_not_deleted_but_offered_archive(owner_client, owner, make_workflow):
    workflow = make_workflow()
    run = finished_run(workflow)
    page = owner_client.get(reverse("workflow-detail", args=["hello"])).content.decode()
    assert f'action="{reverse("workflow-delete", args=["hello"])}"' not in page
    assert "archive it instead" in page and f'action="{reverse("workflow-archive", args=["hello"])}"' in page

    refused = owner_client.post(reverse("workflow-delete", args=["hello"]), follow=True)
    assert "has runs: archive it instead" in refused.content.decode()
    api = APIClient()
    api.force_authenticate(owner)
    assert api.delete("/api/v1/workflows/hello/").status_code == 409
    assert Run.objects.filter(pk=run.pk).exists() and Workflow.objects.filter(slug="hello").exists()


# --- sorting ----------------------------------------------------------------------------


def rows_of(html: str) -> list[str]:
    return [part.split('"')[0] for part in html.split('data-slug="')[1:]]


def test_the_list_sorts_by_name_last_run_and_failure_rate(owner_client, make_workflow):
    now = timezone.now()
    zeta = make_workflow({**noop_definition("zeta"), "name": "Zeta"})
    alpha = make_workflow({**noop_definition("alpha"), "name": "alpha"})
    make_workflow({**noop_definition("mid"), "name": "Mid"})  # never ran
    finished_run(zeta, "failed", created=now - timedelta(hours=2))
    finished_run(zeta, "succeeded", created=now - timedelta(hours=1))
    finished_run(alpha, "succeeded", created=now - timedelta(minutes=5))

    def order(sort):
        return rows_of(owner_client.get(reverse("workflow-list"), {"sort": sort}).content.decode())

    assert order("name") == ["alpha", "mid", "zeta"]  # case does not matter
    assert order("last_run") == ["alpha", "zeta", "mid"]  # never run: last
    assert order("failure_rate") == ["zeta", "alpha", "mid"]
    html = owner_client.get(reverse("workflow-list"), {"sort": "failure_rate"}).content.decode()
    assert ">50.0 %<" in html and ">0 %<" in html


def test_the_failure_rate_counts_the_latest_runs_only(make_workflow):
    workflow = make_workflow()
    for _ in range(5):
        finished_run(workflow, "failed")  # older: left out of the window
    for number in range(FAILURE_RATE_RUNS):
        finished_run(workflow, "failed" if number % 4 == 0 else "succeeded")
    finished_run(workflow, "cancelled")  # nobody's failure: not counted
    listed = Workflow.objects.with_run_summary().get()
    assert listed.rate_runs == FAILURE_RATE_RUNS
    assert listed.failure_rate == pytest.approx(5 / FAILURE_RATE_RUNS)
    assert listed.last_run_status == "cancelled"


def test_the_sorted_list_costs_the_same_queries_for_more_workflows(owner_client, make_workflow):
    def queries(sort):
        with CaptureQueriesContext(connection) as seen:
            assert owner_client.get(reverse("workflow-list"), {"sort": sort}).status_code == 200
        return len(seen)

    first = make_workflow(noop_definition("w0"))
    finished_run(first, "failed")
    few = {sort: queries(sort) for sort in ("name", "last_run", "failure_rate")}
    for number in range(1, 8):
        finished_run(make_workflow(noop_definition(f"w{number}")), "succeeded")
    assert {sort: queries(sort) for sort in few} == few


# --- bulk cancel ------------------------------------------------------------------------


def test_bulk_cancel_cancels_the_selected_runs_the_user_may_see(owner_client, make_workflow, other_team):
    mine = make_workflow()
    going = [make_run(mine, {"s1": "queued"}) for _ in range(3)]
    done = finished_run(mine)
    theirs = make_run(make_workflow(noop_definition("theirs"), team_=other_team), {"s1": "queued"})
    listed = owner_client.get(reverse("run-list")).content.decode()
    assert f'name="run" value="{going[0].pk}"' in listed and f'name="run" value="{done.pk}"' not in listed

    picked = [going[0].pk, going[1].pk, done.pk, theirs.pk, "x"]
    response = owner_client.post(reverse("run-cancel-selected"), {"run": picked, "query": "status=running&x=<y>"})
    assert response.status_code == 302 and response["Location"] == "/runs/?status=running&x=%3Cy%3E"
    statuses = dict(Run.objects.values_list("pk", "status"))
    assert statuses[going[0].pk] == statuses[going[1].pk] == "cancelled"
    assert statuses[going[2].pk] == "running" and statuses[theirs.pk] == "running"
    assert statuses[done.pk] == "succeeded"
    message = owner_client.get(reverse("run-list")).content.decode()
    assert f"Cancelled 2 run(s): #{going[0].pk}, #{going[1].pk}. 1 had already finished." in message


def test_bulk_cancel_with_nothing_selected_says_so(owner_client):
    response = owner_client.post(reverse("run-cancel-selected"), HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("run-list")
    assert "Select the runs to cancel first." in owner_client.get(reverse("run-list")).content.decode()


# --- run again --------------------------------------------------------------------------


def test_run_again_prefills_the_inputs_and_starts_a_run_with_the_edited_ones(owner_client, make_workflow, components):
    workflow = make_workflow(typed_definition())
    before = finished_run(workflow, inputs={"name": "Ada", "count": 7, "loud": True, "token": ""})
    page = owner_client.get(reverse("run-again", args=[before.pk])).content.decode()
    assert 'name="input-name" id="f-name" value="Ada"' in page and 'value="7"' in page
    assert 'name="input-loud" id="f-loud" checked' in page
    assert f'action="{reverse("run-again", args=[before.pk])}"' in page

    form = {"input-name": "Grace", "input-count": "7", "input-loud": "on", "input-token": ""}
    response = owner_client.post(reverse("run-again", args=[before.pk]), form)
    new = Run.objects.exclude(pk=before.pk).get()
    assert response.status_code == 302 and response["Location"] == reverse("run-detail", args=[new.pk])
    assert new.inputs == {"name": "Grace", "count": 7, "loud": True, "token": ""}
    assert new.version_id == before.version_id and new.trigger == "manual"


def test_run_again_never_shows_a_secret_and_reuses_it_when_left_empty(owner_client, make_workflow, components):
    workflow = make_workflow(typed_definition())
    before = finished_run(workflow, "failed", inputs={"name": "Ada", "count": 2, "loud": False, "token": SECRET})
    page = owner_client.get(reverse("run-again", args=[before.pk])).content.decode()
    assert SECRET not in page and SECRET[:12] + "***" in page  # masked in the earlier inputs, absent from the form
    assert "holds a secret and is not shown" in page

    owner_client.post(reverse("run-again", args=[before.pk]), {"input-name": "Ada", "input-count": "2"})
    assert Run.objects.exclude(pk=before.pk).get().inputs["token"] == SECRET


def test_run_again_shows_the_form_again_with_a_bad_value(owner_client, make_workflow, components):
    before = finished_run(make_workflow(typed_definition()), inputs={"name": "Ada", "count": 2})
    response = owner_client.post(
        reverse("run-again", args=[before.pk]), {"input-name": "Ada", "input-count": "many"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "is not a whole number" in html and 'value="many"' in html and "<html" not in html
    assert Run.objects.count() == 1


def test_run_again_waits_for_the_run_to_finish(owner_client, run_of):
    run = run_of({"s1": "running"})
    response = owner_client.get(reverse("run-again", args=[run.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("run-detail", args=[run.pk])


def test_the_run_page_offers_run_again_and_rerun_only_where_something_failed(owner_client, make_workflow):
    workflow = make_workflow()
    again = reverse("run-again", args=[0]).replace("/0/", "/{}/")
    succeeded, failed = finished_run(workflow), finished_run(workflow, "failed")
    page = owner_client.get(reverse("run-detail", args=[succeeded.pk])).content.decode()
    assert again.format(succeeded.pk) in page and "Re-run" not in page
    page = owner_client.get(reverse("run-detail", args=[failed.pk])).content.decode()
    assert again.format(failed.pk) in page and "Re-run from failure" in page


# --- a run's page: inputs, outputs, steps in pages, breadcrumbs --------------------------


def test_the_run_page_shows_its_inputs_and_outputs_with_secrets_masked(owner_client, make_workflow):
    run = finished_run(make_workflow(), inputs={"greeting": "hi", "key": SECRET}, outputs={"value": "done"})
    page = owner_client.get(reverse("run-detail", args=[run.pk])).content.decode()
    inputs = page.split('data-io="inputs">')[1].split("</pre>")[0]
    assert "&quot;greeting&quot;: &quot;hi&quot;" in inputs and SECRET not in page and SECRET[:12] + "***" in inputs
    assert "&quot;value&quot;: &quot;done&quot;" in page.split('data-io="outputs">')[1].split("</pre>")[0]
    going = make_run(run.workflow, {"s1": "running"})
    assert (
        "Resolved when the run finishes." in owner_client.get(reverse("run-detail", args=[going.pk])).content.decode()
    )


def test_the_live_update_of_a_finished_run_brings_its_outputs(make_workflow):
    from workflows.web.live import run_update_messages

    run = finished_run(make_workflow(), outputs={"value": "at last"})
    update = run_update_messages(run.pk, all_steps=True)[-1]
    assert 'id="run-io"' in update and 'hx-swap-oob="true"' in update and "at last" in update
    going = make_run(run.workflow, {"s1": "running"})
    assert 'id="run-io"' not in run_update_messages(going.pk, all_steps=True)[-1]


def test_pretty_json_masks_and_cuts():
    assert pretty_json({"k": SECRET}) == '{\n  "k": "' + SECRET[:12] + '***"\n}'
    long = pretty_json({"text": "x" * (SHOWN_CHARS + 50)})
    assert len(long) < SHOWN_CHARS + 100 and "more characters: the API has it whole" in long


def test_a_long_runs_step_table_comes_in_pages(owner_client, make_workflow):
    run = make_run(make_workflow(noop_definition("long", steps=TABLE_LIMIT * 2 + 5)))
    url = reverse("run-detail", args=[run.pk])
    first = owner_client.get(url).content.decode()
    assert first.count('<tr id="step-') == TABLE_LIMIT and 'id="step-s1"' in first
    assert f"Steps 1–{TABLE_LIMIT} of {TABLE_LIMIT * 2 + 5}" in first and "?page=2" in first
    assert "steps=all" not in first.split("ws-connect=")[1].split(">")[0]
    third = owner_client.get(url, {"page": 3}).content.decode()
    assert third.count('<tr id="step-') == 5 and f'id="step-s{TABLE_LIMIT * 2 + 1}"' in third
    assert "run:updated from:#run-live" in third  # a later page refreshes its own rows
    part = owner_client.get(url, {"part": "steps", "page": 2}, HTTP_HX_REQUEST="true").content.decode()
    assert part.count('<tr id="step-') == TABLE_LIMIT and f'id="step-s{TABLE_LIMIT + 1}"' in part
    assert "<html" not in part and 'id="run-steps-part"' in part


def test_breadcrumbs_lead_back_from_nested_pages(owner_client, make_workflow):
    workflow = make_workflow()
    run = finished_run(workflow)
    step = StepRun.objects.get(run=run, step_id="s1")
    crumbs = {
        reverse("workflow-detail", args=["hello"]): ["Workflows", "Hello"],
        reverse("workflow-edit", args=["hello"]): ["Workflows", "Hello", "Edit"],
        reverse("run-detail", args=[run.pk]): ["Workflows", "Hello", f"Run #{run.pk}"],
        reverse("step-detail", args=[run.pk, step.step_id]): ["Workflows", "Hello", f"Run #{run.pk}", "Step s1"],
        reverse("run-again", args=[run.pk]): ["Workflows", "Hello", f"Run #{run.pk}", "Run again"],
    }
    for url, expected in crumbs.items():
        page = owner_client.get(url).content.decode()
        trail = page.split('aria-label="Breadcrumb"><ol>')[1].split("</ol>")[0]
        items = [item.split("</li>")[0] for item in trail.split("<li")[1:]]
        assert [item.rsplit(">", 2)[-2].split("<")[0] if "<a" in item else item.split(">", 1)[1] for item in items] == (
            expected
        ), url
        assert 'aria-current="page"' in items[-1]


def test_values_as_data_keeps_secret_values_out_of_the_form():
    definition = typed_definition()
    data, kept = run_form.values_as_data(definition, {"name": "Ada", "loud": True, "token": SECRET, "count": 3})
    assert data == {"input-name": "Ada", "input-loud": "on", "input-count": "3"} and kept == {"token"}
    values, errors = run_form.parse_again(definition, {"input-name": "Bo", "input-token": " "}, {"token": SECRET})
    assert values == {"name": "Bo", "loud": False, "token": SECRET} and errors == {}


def test_step_records_carry_what_the_live_updates_read(make_workflow):
    from workflows.web.live import STEP_LIST_FIELDS, step_rows
    from workflows.web.step_records import FIELDS, step_records

    assert set(FIELDS) == set(STEP_LIST_FIELDS)
    run = make_run(make_workflow(noop_definition(steps=3)), {"s1": "succeeded", "s2": "running"})
    records, models = step_records(run), step_rows(run)
    assert [(r.pk, *(getattr(r, f) for f in FIELDS)) for r in records] == [
        (m.pk, *(getattr(m, f) for f in FIELDS)) for m in models
    ]
