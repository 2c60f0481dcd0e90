"""Issue 18, workflows you can manage, in Chromium: archive and delete, sorting the list, bulk cancel."""

from datetime import timedelta

from django.utils import timezone

from tests.browser.conftest import screenshot
from tests.conftest import noop_definition
from tests.web.conftest import make_run
from workflows.execution.models import Run
from workflows.models import Workflow


def make_workflow(team, slug, name=None):
    version, _ = Workflow.import_definition({**noop_definition(slug), "name": name or slug.title()}, team=team)
    return version.workflow


def ended(workflow, status, minutes_ago):
    run = make_run(workflow, {"s1": status, "s2": "skipped" if status == "failed" else status}, run_status=status)
    moment = timezone.now() - timedelta(minutes=minutes_ago)
    Run.objects.filter(pk=run.pk).update(created=moment, finished=moment)
    return run


def accept_confirm(page, asked):
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))


def test_archive_unarchive_and_delete(logged_in, team):
    used = make_workflow(team, "used", "Used")
    ended(used, "succeeded", 5)
    make_workflow(team, "unused", "Unused")
    page, asked = logged_in, []

    page.goto("/workflows/used/")
    assert page.get_by_role("button", name="Delete").is_disabled()  # it has runs: archive instead
    accept_confirm(page, asked)
    page.get_by_role("button", name="Archive").click()
    page.locator(".banner", has_text="Archived").wait_for()
    assert "starts no new runs" in asked[0]
    assert page.locator("#run-form", has_text="This workflow is archived").is_visible()
    assert Workflow.objects.get(slug="used").is_archived
    screenshot(page, "workflow-archived")

    page.goto("/workflows/")
    assert page.locator("#workflow-table tr[data-slug]").evaluate_all("rows => rows.map(r => r.dataset.slug)") == [
        "unused"
    ]
    page.get_by_label("Show").select_option("archived")
    page.locator('#workflow-table tr[data-slug="used"]').wait_for()
    assert page.locator('#workflow-table tr[data-slug="unused"]').count() == 0
    assert "show=archived" in page.url
    page.locator('#workflow-table tr[data-slug="used"] a', has_text="Used").click()
    page.get_by_role("button", name="Unarchive").click()
    page.locator(".messages", has_text="unarchived").wait_for()
    assert not Workflow.objects.get(slug="used").is_archived

    page.goto("/workflows/unused/")
    accept_confirm(page, asked)
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url("**/workflows/")
    page.locator(".messages", has_text="Workflow unused deleted.").wait_for()
    assert not Workflow.objects.filter(slug="unused").exists()
    assert Workflow.objects.filter(slug="used").exists() and Run.objects.filter(workflow__slug="used").count() == 1


def test_sort_the_list_by_name_last_run_and_failure_rate(logged_in, team):
    steady, shaky, idle = (make_workflow(team, slug) for slug in ("b-steady", "c-shaky", "a-idle"))
    ended(steady, "succeeded", 1)
    ended(shaky, "failed", 30)
    ended(shaky, "succeeded", 20)
    page = logged_in

    def order():
        return page.locator("#workflow-table tr[data-slug]").evaluate_all("rows => rows.map(r => r.dataset.slug)")

    page.goto("/workflows/")
    assert order() == ["a-idle", "b-steady", "c-shaky"]
    page.get_by_label("Sort by").select_option("failure_rate")
    page.wait_for_url("**sort=failure_rate**")
    page.wait_for_function("() => document.querySelector('#workflow-table tr[data-slug]').dataset.slug === 'c-shaky'")
    assert order() == ["c-shaky", "b-steady", "a-idle"]
    assert page.locator('tr[data-slug="c-shaky"] [data-col="failure-rate"]').inner_text() == "50.0 %"
    page.get_by_role("link", name="Last run").click()
    page.wait_for_url("**sort=last_run**")
    assert order() == ["b-steady", "c-shaky", "a-idle"]
    screenshot(page, "workflows-sorted")


def test_bulk_cancel_the_selected_runs(logged_in, team):
    workflow = make_workflow(team, "busy")
    going = [make_run(workflow, {"s1": "queued"}) for _ in range(3)]
    done = ended(workflow, "succeeded", 1)
    page, asked = logged_in, []
    page.goto("/runs/")
    assert page.get_by_label(f"Select run #{done.pk}").count() == 0  # finished: nothing to cancel
    page.get_by_label("Select every run on this page that is still going").check()
    assert all(page.get_by_label(f"Select run #{run.pk}").is_checked() for run in going)
    page.get_by_label(f"Select run #{going[2].pk}").uncheck()
    accept_confirm(page, asked)
    page.get_by_role("button", name="Cancel selected runs").click()
    page.locator(".messages", has_text="Cancelled 2 run(s)").wait_for()
    assert asked == ["Cancel the selected runs? Their running steps are told to stop."]
    statuses = dict(Run.objects.values_list("pk", "status"))
    assert [statuses[run.pk] for run in going] == ["cancelled", "cancelled", "running"]
    assert statuses[done.pk] == "succeeded"
    assert page.locator(f'tr[data-run="{going[0].pk}"] .badge').inner_text() == "cancelled"
    screenshot(page, "runs-bulk-cancelled")
