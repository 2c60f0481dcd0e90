"""Issue 18, the run's whole story, in Chromium.

* Run again: a finished run's page leads to its Run form with its inputs filled in; an edited
  input starts a real run that the server executes.
* The timeline draws every attempt's back-off, queue wait and run, in three different colours.
* A 10,000-step run's page (its rows written in bulk, nothing executed) answers its HTML in under 1 s.
"""

from datetime import timedelta

from django.utils import timezone

from tests.browser.conftest import screenshot, step_queue
from tests.web.conftest import make_run
from workflows.execution.models import Run, StepAttempt, StepRun
from workflows.models import Workflow

BIG_STEPS = 10_000
HTML_BUDGET_MS = 1000


def greeting_definition() -> dict:
    return {
        "id": "greeting",
        "name": "Greeting",
        "version": "1.0.0",
        "inputs": {"greeting": {"type": "string"}, "times": {"type": "integer", "default": 1}},
        "steps": [
            {"id": "say", "component": "core.noop", "inputs": {"value": "{{ inputs.greeting }}"}, **step_queue()}
        ],
        "outputs": {"said": "{{ steps.say.outputs.value }}"},
    }


def test_run_again_starts_a_run_with_an_edited_input(logged_in, team):
    version, _ = Workflow.import_definition(greeting_definition(), team=team)
    before = make_run(version.workflow, {"say": "succeeded"}, run_status="succeeded")
    Run.objects.filter(pk=before.pk).update(
        inputs={"greeting": "hello", "times": 3}, outputs={"said": "hello"}, finished=timezone.now()
    )
    page = logged_in
    page.goto(f"/runs/{before.pk}/")
    assert '"greeting": "hello"' in page.locator("#run-io [data-io=inputs]").inner_text()
    page.get_by_role("link", name="Run again").click()
    page.wait_for_url(f"**/runs/{before.pk}/again/")
    greeting, times = page.get_by_label("greeting"), page.get_by_label("times")
    assert greeting.input_value() == "hello" and times.input_value() == "3"  # the earlier run's inputs
    assert page.locator("nav.crumbs li").all_inner_texts()[-2:] == [f"Run #{before.pk}", "Run again"]
    screenshot(page, "run-again")
    greeting.fill("hello again")
    page.get_by_role("button", name="Run", exact=True).click()

    page.wait_for_url(lambda url: "/again/" not in url and url.rstrip("/").split("/")[-1].isdigit())
    page.locator("#run-head .badge", has_text="succeeded").wait_for(timeout=30_000)
    new = Run.objects.exclude(pk=before.pk).get()
    assert page.url.endswith(f"/runs/{new.pk}/")
    assert new.inputs == {"greeting": "hello again", "times": 3} and new.version_id == before.version_id
    assert new.outputs == {"said": "hello again"}
    # The outputs arrive with the live update that finishes the run.
    page.locator("#run-io [data-io=outputs]", has_text="hello again").wait_for()


def retried_run(team) -> Run:
    """A finished run whose one step failed once, waited out its back-off, queued, then succeeded."""
    definition = {"id": "retried", "steps": [{"id": "flaky", "component": "core.noop", "inputs": {}}]}
    version, _ = Workflow.import_definition(definition, team=team)
    run = make_run(version.workflow, {"flaky": "succeeded"}, run_status="succeeded")
    t0 = timezone.now() - timedelta(seconds=10)
    at = [t0 + timedelta(seconds=seconds) for seconds in range(6)]
    StepRun.objects.filter(run=run).update(attempt=2, enqueued=at[3], started=at[4], finished=at[5])
    step = StepRun.objects.get(run=run)
    StepAttempt.objects.bulk_create(
        [
            StepAttempt(step_run=step, number=1, status="failed", started=at[0], finished=at[1], error="boom"),
            StepAttempt(step_run=step, number=2, status="succeeded", started=at[4], finished=at[5], delay=2.0),
        ]
    )
    Run.objects.filter(pk=run.pk).update(started=at[0], finished=at[5])
    return run


# One synchronous read of the live row (the socket may swap the timeline in between two steps of a test).
COLOURS = """
() => Object.fromEntries(['tl-backoff', 'tl-wait', 'tl-exec'].map((kind) => {
  const bar = document.querySelector('#run-timeline .tl-row[data-step="flaky"] .' + kind);
  return [kind, bar ? getComputedStyle(bar).backgroundImage + ' ' + getComputedStyle(bar).backgroundColor : null];
}))
"""


def test_the_timeline_tells_back_off_queue_wait_and_running_apart(logged_in, team):
    run = retried_run(team)
    page = logged_in
    for theme in ("light", "dark"):
        page.emulate_media(color_scheme=theme)
        page.goto(f"/runs/{run.pk}/")
        row = page.locator('#run-timeline .tl-row[data-step="flaky"]')
        assert row.locator(".tl-exec").count() == 2  # both attempts
        assert row.locator(".tl-backoff").count() == 1 and row.locator(".tl-wait").count() >= 1
        colours = page.evaluate(COLOURS)
        assert None not in colours.values() and len(set(colours.values())) == 3, colours
    page.emulate_media(color_scheme="light")


def big_definition() -> dict:
    # Chains of 50: the graph has its real shape (10,000 nodes, 9,800 edges), the engine is not involved.
    steps = [
        {"id": f"s{n}", "component": "core.noop", "inputs": {}, **({"depends_on": [f"s{n - 1}"]} if n % 50 else {})}
        for n in range(BIG_STEPS)
    ]
    return {"id": "huge", "name": "Huge", "version": "1.0.0", "inputs": {}, "steps": steps, "outputs": {}}


TIMING = """
() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const timing = (name) => (nav.serverTiming.find((entry) => entry.name === name) || {}).duration;
  return {server: nav.responseStart - nav.requestStart, html: nav.responseEnd - nav.requestStart,
          view: timing('view'), cpu: timing('cpu'), dom: nav.domContentLoadedEventStart, bytes: nav.transferSize};
}
"""


def test_a_ten_thousand_step_run_page_answers_in_under_a_second(logged_in, team):
    version, _ = Workflow.import_definition(big_definition(), team=team)
    statuses = {f"s{n}": "succeeded" for n in range(6000)} | {f"s{n}": "running" for n in range(6000, 6040)}
    run = make_run(version.workflow, statuses)
    page = logged_in
    loads = []
    for attempt in ("first", "second"):  # the first also compiles the version's plan in the server
        page.goto(f"/runs/{run.pk}/", wait_until="domcontentloaded")
        timing = page.evaluate(TIMING)
        loads.append(timing)
        print(
            f"\n10,000-step run page ({attempt} load): view {timing['view']:.0f} ms ({timing['cpu']:.0f} ms CPU), "
            f"server {timing['server']:.0f} ms, "
            f"HTML {timing['html']:.0f} ms ({timing['bytes'] / 1e6:.2f} MB), "
            f"DOMContentLoaded {timing['dom']:.0f} ms after navigation"
        )
        # Measured alone: the page's graph layout and its socket's catch-up are done before the next load.
        page.wait_for_function("() => document.querySelector('svg.dag')?.dataset.ready === 'true'", timeout=60_000)
        page.wait_for_load_state("networkidle")
    assert page.locator("#run-steps tbody tr").count() == 200
    assert page.locator("[data-steps-shown]").inner_text() == f"Steps 1–200 of {BIG_STEPS:,}".replace(",", "")
    assert "6000 succeeded" in page.locator("#run-progress").inner_text()
    assert all(load["html"] < HTML_BUDGET_MS for load in loads), loads
    page.get_by_role("link", name="Next →").click()
    page.locator("#step-s200").wait_for()
    assert page.locator("#run-steps tbody tr").count() == 200 and page.locator("#step-s0").count() == 0
