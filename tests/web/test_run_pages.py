"""The runs list, a run's page, a step's details, cancel and re-run."""

import pytest
from django.urls import reverse

from tests.conftest import noop_definition
from workflows.execution.models import Run, StepRun

XSS = "<script>alert(1)</script>"


def test_pages_need_a_login(client, run_of):
    run = run_of()
    for url in (
        reverse("run-list"),
        reverse("run-detail", args=[run.pk]),
        reverse("step-detail", args=[run.pk, "s1"]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")


def test_a_foreign_teams_run_is_not_found(outsider_client, run_of):
    run = run_of()
    assert outsider_client.get(reverse("run-detail", args=[run.pk])).status_code == 404
    assert outsider_client.get(reverse("step-detail", args=[run.pk, "s1"])).status_code == 404
    assert outsider_client.post(reverse("run-cancel", args=[run.pk])).status_code == 404
    assert outsider_client.post(reverse("run-rerun", args=[run.pk])).status_code == 404
    assert run.pk not in [r.pk for r in outsider_client.get(reverse("run-list")).context["page"]]


def test_wrong_methods_are_refused(owner_client, run_of):
    run = run_of()
    assert owner_client.post(reverse("run-list")).status_code == 405
    assert owner_client.post(reverse("run-detail", args=[run.pk])).status_code == 405
    assert owner_client.get(reverse("run-cancel", args=[run.pk])).status_code == 405
    assert owner_client.get(reverse("run-rerun", args=[run.pk])).status_code == 405


def test_list_filters_by_workflow_status_and_time(owner_client, make_workflow):
    from tests.web.conftest import make_run

    first = make_workflow(noop_definition("first"))
    second = make_workflow(noop_definition("second"))
    running = make_run(first, run_status="running")
    failed = make_run(second, run_status="failed")
    Run.objects.filter(pk=failed.pk).update(created=running.created.replace(year=2020))

    def listed(**query):
        return [run.pk for run in owner_client.get(reverse("run-list"), query).context["page"]]

    assert listed() == [running.pk, failed.pk]
    assert listed(workflow="second") == [failed.pk]
    assert listed(status="running") == [running.pk]
    assert listed(period="24h") == [running.pk]
    assert listed(status="succeeded") == []


def test_list_is_paginated_and_htmx_gets_only_the_list(owner_client, make_workflow):
    from tests.web.conftest import make_run
    from workflows.web.runs import PAGE_SIZE

    workflow = make_workflow()
    for _ in range(PAGE_SIZE + 1):
        make_run(workflow)
    first = owner_client.get(reverse("run-list"))
    assert len(first.context["page"]) == PAGE_SIZE
    assert "Older →" in first.content.decode()
    second = owner_client.get(reverse("run-list"), {"page": 2}, HTTP_HX_REQUEST="true")
    assert len(second.context["page"]) == 1
    assert "<html" not in second.content.decode()


def test_empty_list_says_what_to_do(owner_client, team):
    assert "Start one from a" in owner_client.get(reverse("run-list")).content.decode()


def test_run_page_shows_graph_progress_timeline_and_steps(owner_client, run_of):
    run = run_of({"s1": "succeeded", "s2": "running"}, definition=noop_definition(steps=3))
    page = owner_client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert f'ws-connect="/ws/runs/{run.pk}/?since=' in page
    assert 'id="step-s1"' in page and 'id="step-s3"' in page
    assert "1 of 3 steps finished" in " ".join(page.split()).replace("<strong data-finished>1</strong>", "1")
    assert 'class="tl-exec st-running"' in page
    assert 'class="dag"' in page  # the graph is drawn from the definition
    assert ">Cancel</button>" in page


def test_finished_failed_run_offers_rerun_not_cancel(owner_client, run_of):
    run = run_of({"s1": "failed", "s2": "skipped"}, run_status="failed")
    page = owner_client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert "Re-run from failure" in page
    assert ">Cancel</button>" not in page


def test_a_cancelled_run_is_not_shown_as_a_failure(owner_client, run_of):
    run = run_of({"s1": "succeeded", "s2": "cancelled"}, run_status="cancelled")
    run.error = "cancelled"
    run.save(update_fields=["error"])
    page = owner_client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert ">Re-run</button>" in page and "Re-run from failure" not in page
    assert 'role="alert"' not in page.split('id="run-head"')[1].split("</div>")[0]


def test_cancel_asks_for_confirmation(owner_client, run_of):
    run = run_of({"s1": "running", "s2": "pending"}, run_status="running")
    page = owner_client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert f'hx-confirm="Cancel run #{run.pk}? Its running steps are told to stop."' in page


def test_step_detail_shows_inputs_outputs_error_and_attempts(owner_client, run_of):
    from django.utils import timezone

    from workflows.execution.models import StepAttempt

    run = run_of({"s1": "failed"}, run_status="failed")
    step = StepRun.objects.get(run=run, step_id="s1")
    step.inputs, step.outputs, step.error = {"value": XSS}, None, f"boom {XSS}"
    step.save()
    StepAttempt.objects.create(step_run=step, number=1, status="failed", error="first try", started=timezone.now())
    fragment = owner_client.get(reverse("step-detail", args=[run.pk, "s1"]), HTTP_HX_REQUEST="true")
    html = fragment.content.decode()
    assert "<html" not in html
    assert "first try" in html
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    full = owner_client.get(reverse("step-detail", args=[run.pk, "s1"])).content.decode()
    assert "<html" in full and "first try" in full
    assert owner_client.get(reverse("step-detail", args=[run.pk, "nope"])).status_code == 404


def test_user_strings_render_as_text_on_run_pages(owner_client, make_workflow):
    from tests.web.conftest import make_run

    definition = noop_definition("xss")
    definition["name"] = XSS
    run = make_run(make_workflow(definition), run_status="failed")
    Run.objects.filter(pk=run.pk).update(error=XSS)
    for url in (reverse("run-detail", args=[run.pk]), reverse("run-list"), reverse("dashboard")):
        html = owner_client.get(url).content.decode()
        assert XSS not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_cancel_cancels_and_redirects_back(owner_client, run_of, components):
    run = run_of({"s1": "queued"})
    response = owner_client.post(reverse("run-cancel", args=[run.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("run-detail", args=[run.pk])
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert set(run.steps.values_list("status", flat=True)) == {"cancelled"}
    again = owner_client.post(reverse("run-cancel", args=[run.pk]), follow=True)
    assert "had already finished" in again.content.decode()


@pytest.mark.django_db(transaction=True)
def test_rerun_starts_a_new_run_from_the_failure(workers, login, owner, make_workflow):
    from workflows.execution.runs import wait_for_run

    definition = noop_definition("again", steps=2)
    definition["steps"][1]["component"] = "core.fail"
    definition["steps"][1]["inputs"] = {"message": "no"}
    definition["outputs"] = {}
    workflow = make_workflow(definition)
    client = login(owner)
    started = client.post(reverse("workflow-run", args=[workflow.slug]))
    assert started.status_code == 302, started.content
    first = wait_for_run(Run.objects.get(workflow=workflow))
    assert first.status == "failed"
    response = client.post(reverse("run-rerun", args=[first.pk]))
    new = Run.objects.exclude(pk=first.pk).get(workflow=workflow)
    assert response["Location"] == reverse("run-detail", args=[new.pk])
    assert new.rerun_of_id == first.pk
    assert StepRun.objects.get(run=new, step_id="s1").reused_from_id is not None


def test_htmx_cancel_navigates_with_hx_redirect(owner_client, run_of):
    run = run_of({"s1": "queued"})
    response = owner_client.post(reverse("run-cancel", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("run-detail", args=[run.pk])


def test_big_runs_table_shows_the_first_rows_and_offers_all(owner_client, make_workflow):
    from tests.web.conftest import make_run
    from workflows.web.live import TABLE_LIMIT

    run = make_run(make_workflow(noop_definition("long", steps=TABLE_LIMIT + 5)))
    page = owner_client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert page.count('<tr id="step-') == TABLE_LIMIT
    assert "?steps=all" in page and "steps=all" not in page.split("ws-connect=")[1].split(">")[0]
    everything = owner_client.get(reverse("run-detail", args=[run.pk]), {"steps": "all"}).content.decode()
    assert everything.count('<tr id="step-') == TABLE_LIMIT + 5
    assert "&amp;steps=all" in everything
