"""Step logs on the run page: a running step's lines appear in its panel as it writes them, and the filter."""

from tests.browser.conftest import screenshot, step_queue
from tests.browser.test_run_live import start_from_workflow_page
from workflows.execution.models import StepAttempt, StepRun
from workflows.models import Workflow

LINES = "#step-panel pre.step-log-lines"
# Counts the panel's lines, and whether any of them came with an element of its own (unescaped text).
READ_PANEL = """
() => {
  const pre = document.querySelector('#step-panel pre.step-log-lines');
  const lines = [...pre.querySelectorAll(':scope > span[data-n]')];
  return {
    texts: lines.map((line) => line.textContent.trim()),
    shown: lines.filter((line) => !line.hidden).map((line) => line.textContent.trim()),
    elements: pre.querySelectorAll('b, span span').length,
  };
}
"""


def test_a_running_steps_lines_appear_live_and_the_filter_keeps_the_matching_ones(logged_in, team, tmp_path):
    release = tmp_path / "release"
    definition = {
        "id": "talker",
        "name": "Talker",
        "version": "1.0.0",
        "inputs": {},
        "steps": [
            {
                "id": "talk",
                "component": "test.log",
                "inputs": {"wait_for": str(release), "tick": 0.2, "tick_line": "tick {n} <b>bold</b>"},
                **step_queue(),
            }
        ],
        "outputs": {},
    }
    Workflow.import_definition(definition, team=team)
    page = logged_in
    run = start_from_workflow_page(page, "talker")
    page.locator("#step-talk .badge", has_text="running").wait_for(timeout=20_000)
    page.locator("#step-talk").click()
    page.locator(f"{LINES}[data-live]").wait_for()
    # Lines written after the panel opened, while the step still runs.
    opened_with = len(page.evaluate(READ_PANEL)["texts"])
    page.wait_for_function(
        f"() => document.querySelectorAll('{LINES} > span[data-n]').length >= {opened_with + 3}", timeout=10_000
    )
    assert StepRun.objects.get(run=run, step_id="talk").status == "running"
    assert page.locator("#step-talk .badge").inner_text() == "running"
    seen = page.evaluate(READ_PANEL)
    assert seen["elements"] == 0  # the component's "<b>" is text, not markup
    ticks = [int(text.split()[1]) for text in seen["texts"]]
    assert all(text == f"tick {n} <b>bold</b>" for n, text in zip(ticks, seen["texts"], strict=True))
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks)))  # in order, none twice, none missing

    page.locator("#step-panel input.log-search").fill("tick 2")
    filtered = page.evaluate(READ_PANEL)
    assert filtered["shown"] and all("tick 2" in text for text in filtered["shown"])
    assert set(filtered["texts"]) - set(filtered["shown"]) == {t for t in filtered["texts"] if "tick 2" not in t}
    count = page.locator("#step-panel .log-count").inner_text()
    assert count.startswith(f"{len(filtered['shown'])} of ")
    screenshot(page, "run-step-log-live")

    release.touch()
    page.locator("#run-head .badge", has_text="succeeded").wait_for(timeout=15_000)
    stored = StepAttempt.objects.get(step_run__run=run).log.split("\n")
    assert stored[-1] == "released" and set(seen["texts"]) <= set(stored)
    # Opened again: the stored lines, filtered the same way.
    page.reload()
    page.locator("#step-talk").click()
    page.locator(LINES).wait_for()
    assert page.evaluate(READ_PANEL)["texts"] == stored
    page.locator("#step-panel input.log-search").fill("released")
    assert page.evaluate(READ_PANEL)["shown"] == ["released"]
