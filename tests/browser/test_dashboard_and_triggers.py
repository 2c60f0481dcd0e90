"""Issue 18 in the browser: a live dashboard in embedded mode, trigger tables that fit, a favicon."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests.browser.conftest import screenshot, step_queue
from tests.server import ROOT, database_url
from workflows.execution.models import Run
from workflows.models import Workflow

# Notes, in the page's clock, when each run's row on the dashboard first says "running".
WATCH_RUNNING = """
() => {
  window.__runningAt = {};
  const look = () => document.querySelectorAll('#dash-recent tbody tr').forEach((row) => {
    const id = row.querySelector('a').textContent.trim();
    if (!(id in window.__runningAt) && row.textContent.includes('running')) window.__runningAt[id] = Date.now();
  });
  look();
  new MutationObserver(look).observe(document.getElementById('dashboard-live'), { childList: true, subtree: true });
}
"""


def sleeper(seconds: float) -> dict:
    return {
        "id": "sleeper",
        "name": "Sleeper",
        "version": "1.0.0",
        "inputs": {},
        "steps": [{"id": "nap", "component": "core.sleep", "inputs": {"seconds": seconds}, **step_queue()}],
        "outputs": {},
    }


def watch_the_dashboard(page):
    page.goto("/")
    page.wait_for_timeout(500)  # the socket is open and its catch-up push is in
    page.evaluate(WATCH_RUNNING)


def seen_running_after(page, run: Run) -> float:
    """Seconds between the run starting and its row on the dashboard saying so."""
    label = f"#{run.pk}"
    page.wait_for_function(f"() => '{label}' in window.__runningAt", timeout=8_000)
    seen_at = page.evaluate(f"window.__runningAt['{label}']") / 1000
    run.refresh_from_db()
    return seen_at - run.started.timestamp()


def test_a_run_started_in_the_server_shows_on_the_dashboard_within_a_second(logged_in, team):
    Workflow.import_definition(sleeper(3), team=team)
    dashboard = logged_in
    other = dashboard.context.new_page()
    other.goto("/workflows/sleeper/")
    watch_the_dashboard(dashboard)
    other.get_by_role("button", name="Run", exact=True).click()
    other.wait_for_url("**/runs/*/")
    delay = seen_running_after(dashboard, Run.objects.latest("id"))
    screenshot(dashboard, "dashboard-live")
    assert delay < 1.0, f"the dashboard showed the run running {delay:.1f} s after it started"


@pytest.mark.skipif(not settings.EMBEDDED, reason="distributed mode: every process's events go through Redis")
def test_a_run_started_from_the_command_line_shows_on_the_dashboard_within_a_second(logged_in, team):
    """`manage.py run_workflow` beside `make run` executes the run in its own process (README, "Two commands")."""
    Workflow.import_definition(sleeper(3), team=team)
    dashboard = logged_in
    watch_the_dashboard(dashboard)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oaweb.settings",
        "DATABASE_URL": database_url(),
        "SECRET_KEY": "insecure-test-only-key",
        "OAWEB_COMPONENT_MODULES": "tests.components",
        "OAWEB_LEASE_SECONDS": "3",
        "OAWEB_HEARTBEAT_SECONDS": "1",
        "OAWEB_REAPER_SECONDS": "1",
    }
    command = [sys.executable, "manage.py", "run_workflow", "sleeper", "--wait"]
    cli = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        dashboard.wait_for_function("() => Object.keys(window.__runningAt).length > 0", timeout=10_000)
        delay = seen_running_after(dashboard, Run.objects.latest("id"))
    finally:
        output, _ = cli.communicate(timeout=30)
    assert cli.returncode == 0, output
    assert delay < 1.0, f"the dashboard showed the command line's run running {delay:.1f} s after it started"


# --- schedules and webhooks: their tables fit their column ------------------------------------------


def with_triggers(team, user):
    from workflows.triggers.models import Schedule, WebhookTrigger

    version, _ = Workflow.import_definition(sleeper(0.1), team=team)
    workflow = version.workflow
    schedule = Schedule.objects.create(
        workflow=workflow,
        name="nightly report for the finance team",
        cron="0 3 * * 1-5",
        timezone="Europe/Amsterdam",
        inputs={},
        created_by=user,
    )
    schedule.sync()
    WebhookTrigger.create(workflow, user=user, name="from the CI pipeline of the main repository")
    return workflow


def cut_off(page, wrap, cell) -> list[str]:
    """What of `cell` (a locator in `wrap`, a .table-wrap) lies outside the wrap or the window, horizontally."""
    box, frame = cell.bounding_box(), wrap.bounding_box()
    width = page.viewport_size["width"]
    problems = []
    if box is None:
        return ["not displayed"]
    if box["x"] < frame["x"] - 1 or box["x"] + box["width"] > frame["x"] + frame["width"] + 1:
        problems.append(f"outside its table's box ({box} in {frame})")
    if box["x"] + box["width"] > width:
        problems.append(f"past the window's right edge ({box['x'] + box['width']:.0f} > {width})")
    return problems


def assert_trigger_tables_fit(page):
    schedules, webhooks = page.locator("#triggers .table-wrap").nth(0), page.locator("#triggers .table-wrap").nth(1)
    cells = {
        "schedule's next run": schedules.locator("tbody tr td:nth-child(6)"),
        "schedule's Pause": schedules.get_by_role("button", name="Pause"),
        "schedule's Delete": schedules.get_by_role("button", name="Delete"),
        "webhook's created": webhooks.locator("tbody tr td:nth-child(4)"),
        "webhook's Disable": webhooks.get_by_role("button", name="Disable"),
        "webhook's Rotate": webhooks.get_by_role("button", name="Rotate"),
        "webhook's Delete": webhooks.get_by_role("button", name="Delete"),
    }
    problems = {}
    for name, cell in cells.items():
        wrap = schedules if name.startswith("schedule") else webhooks
        if found := cut_off(page, wrap, cell):
            problems[name] = found
    for name, wrap in (("schedules", schedules), ("webhooks", webhooks)):
        if wrap.evaluate("(el) => el.scrollWidth > el.clientWidth + 1"):
            problems[f"{name} table"] = ["scrolls sideways: some columns are hidden"]
    assert not problems, problems


def test_trigger_tables_fit_their_column(logged_in, team, user):
    with_triggers(team, user)
    page = logged_in
    page.goto("/workflows/sleeper/")  # the panel in the page's side column
    page.locator("#triggers .table-wrap").nth(1).wait_for()
    screenshot(page, "workflow-triggers")
    assert_trigger_tables_fit(page)
    page.goto("/workflows/sleeper/triggers/")  # the panel as a page of its own
    assert_trigger_tables_fit(page)
    screenshot(page, "triggers-page")


# --- the Run form: a refused form leaves the address bar on the workflow's page ----------------------


def test_a_refused_run_form_keeps_the_workflows_address(logged_in, team):
    definition = sleeper(0.1)
    definition["inputs"] = {"options": {"type": "object", "default": {}}}
    Workflow.import_definition(definition, team=team)
    page = logged_in
    page.goto("/workflows/sleeper/")
    page.get_by_label("options").fill("{not json")
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator("#run-form .error", has_text="not valid JSON").wait_for()
    assert page.url.endswith("/workflows/sleeper/"), page.url
    assert page.get_by_label("options").input_value() == "{not json"  # what was typed stays
    screenshot(page, "run-form-refused", full_page=False)
    page.get_by_label("options").fill('{"a": 1}')
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url("**/runs/*/")
    assert Run.objects.get().inputs == {"options": {"a": 1}}
