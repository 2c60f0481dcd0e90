"""Run a workflow from its page and watch the steps change live, then cancel a long one."""

from tests.browser.conftest import screenshot, step_queue
from workflows.execution.models import Run
from workflows.models import Workflow

# The live path differs by mode (Redis channel layer and real workers, or one process).
BOTH_MODES = True

# Records every status a step's row shows, through out-of-band swaps, without reloading.
RECORD_STATUSES = """
() => {
  window.__seen = {};
  window.__notReloaded = true;
  const record = () => document.querySelectorAll('#run-steps tbody tr').forEach((row) => {
    const step = row.id.replace('step-', '');
    const status = row.querySelector('.badge').textContent.trim();
    const seen = (window.__seen[step] = window.__seen[step] || []);
    if (seen[seen.length - 1] !== status) seen.push(status);
  });
  record();
  new MutationObserver(record).observe(document.getElementById('run-steps'), { childList: true, subtree: true });
}
"""


def fan_out(seconds: float) -> dict:
    """first, then `a` and `b` in parallel: with one worker slot, `b` waits in the queue while `a` runs."""
    queue = step_queue()
    return {
        "id": "fan",
        "name": "Fan out",
        "version": "1.0.0",
        "inputs": {},
        "steps": [
            {"id": "first", "component": "core.sleep", "inputs": {"seconds": 0.5}, **queue},
            {"id": "a", "component": "core.sleep", "inputs": {"seconds": seconds}, "depends_on": ["first"], **queue},
            {"id": "b", "component": "core.sleep", "inputs": {"seconds": seconds}, "depends_on": ["first"], **queue},
        ],
        "outputs": {},
    }


def start_from_workflow_page(page, slug):
    page.goto(f"/workflows/{slug}/")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url("**/runs/*/")
    return Run.objects.latest("id")


def test_steps_turn_queued_running_succeeded_live(logged_in, team):
    Workflow.import_definition(fan_out(1.5), team=team)
    page = logged_in
    run = start_from_workflow_page(page, "fan")
    page.evaluate(RECORD_STATUSES)
    page.locator("#run-head .badge", has_text="succeeded").wait_for(timeout=30_000)
    page.wait_for_function("() => Object.values(window.__seen).every((s) => s[s.length - 1] === 'succeeded')")
    seen = page.evaluate("window.__seen")
    assert page.evaluate("window.__notReloaded") is True  # everything changed in place
    waited = seen["a"] if "queued" in seen["a"] else seen["b"]  # whichever the worker took second
    assert waited[-3:] == ["queued", "running", "succeeded"], seen
    assert all(statuses[-1] == "succeeded" for statuses in seen.values()), seen
    assert page.locator("svg.dag g.node.st-succeeded").count() == 3  # the graph follows too
    assert "3 of 3 steps finished" in page.locator("#run-progress").inner_text()
    screenshot(page, "run-detail")
    run.refresh_from_db()
    assert run.status == "succeeded"


def test_cancel_a_long_running_run(logged_in, team):
    Workflow.import_definition(fan_out(60), team=team)
    page = logged_in
    run = start_from_workflow_page(page, "fan")
    page.locator("#step-a .badge", has_text="running").or_(page.locator("#step-b .badge", has_text="running")).wait_for(
        timeout=20_000
    )
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Cancel").click()
    page.locator("#run-head .badge", has_text="cancelled").wait_for(timeout=10_000)
    assert asked == [f"Cancel run #{run.pk}? Its running steps are told to stop."]
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert set(run.steps.values_list("status", flat=True)) <= {"succeeded", "cancelled"}
    # Nothing failed: a cancelled run is offered a re-run, not "from failure", and its reason isn't an alert.
    page.get_by_role("button", name="Re-run", exact=True).wait_for()
    assert page.locator("#run-head [role=alert]").count() == 0
