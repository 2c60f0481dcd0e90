"""The metrics and workers pages, with real runs on them, in the browser."""

from tests.browser.conftest import screenshot, step_queue
from workflows.execution.models import Run
from workflows.models import Workflow


def small(slug: str, fail: bool = False) -> dict:
    queue = step_queue()
    last = {"id": "last", "component": "core.fail" if fail else "core.noop", "depends_on": ["first"], **queue}
    last["inputs"] = {"message": "planned"} if fail else {"value": 1}
    return {
        "id": slug,
        "name": slug.title(),
        "version": "1.0.0",
        "inputs": {},
        "steps": [{"id": "first", "component": "core.sleep", "inputs": {"seconds": 0.2}, **queue}, last],
        "outputs": {},
    }


def run_from_page(page, slug):
    page.goto(f"/workflows/{slug}/")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url("**/runs/*/")
    page.locator("#run-head .badge", has_text="ed").wait_for(timeout=30_000)  # succeeded or failed


def test_metrics_page_charts_real_runs(logged_in, team):
    Workflow.import_definition(small("steady"), team=team)
    Workflow.import_definition(small("flaky", fail=True), team=team)
    page = logged_in
    for slug in ("steady", "steady", "flaky"):
        run_from_page(page, slug)
    assert sorted(Run.objects.values_list("status", flat=True)) == ["failed", "succeeded", "succeeded"]

    page.goto("/stats/")
    page.get_by_role("cell", name="Steady").first.wait_for()
    page.get_by_role("cell", name="Flaky").first.wait_for()
    page.locator(".uplot").first.wait_for()  # the charts were drawn
    screenshot(page, "metrics")


def test_workers_page_lists_the_worker(logged_in):
    page = logged_in
    page.goto("/workers/")
    page.locator("td", has_text="online").first.wait_for()
    screenshot(page, "workers")
