"""Issue 18's run page in the browser.

* item 2: the step panel's attempts table and error boxes stay inside its card;
* item 5: one live update moves the header, the progress, the rows and the
  graph together: a MutationObserver samples the page at every change while
  a run runs, and no sample shows two parts disagreeing;
* item 6: a retried step's timeline shows each attempt and its back-off.
"""

from django.utils import timezone

from tests.browser.conftest import screenshot, step_queue
from tests.browser.test_run_live import start_from_workflow_page
from tests.web.conftest import make_run
from workflows.execution.models import StepAttempt, StepRun
from workflows.models import Workflow

WINDOW_WIDTH = 1400  # the page fixture's viewport

# --- item 2 ------------------------------------------------------------------------------

LONG_TOKEN = "https://api.example.com/v1/" + "segment/" * 40 + "?" + "&".join(f"key{n}=value{n}" for n in range(30))


def long_error(attempt: int) -> str:
    lines = [f"attempt {attempt}: Traceback (most recent call last):"]
    lines += [f'  File "/srv/app/module_{n}.py", line {n * 7}, in handler_{n}' for n in range(40)]
    lines += [f"ConnectionError: could not reach {LONG_TOKEN}", f"END-OF-ERROR-{attempt}"]
    return "\n".join(lines)


FITS = """
() => {
  const panel = document.getElementById('step-panel');
  const boxes = Array.from(panel.querySelectorAll('pre.error-text')).map((box) => {
    const style = getComputedStyle(box);
    box.scrollTop = box.scrollHeight;  // scrolled to its end, the last line is in view
    const end = box.scrollTop + box.clientHeight >= box.scrollHeight - 1;
    const scrolls = ['auto', 'scroll'].includes(style.overflowY);
    return {
      wraps: box.scrollWidth <= box.clientWidth + 1,
      readable: box.scrollHeight <= box.clientHeight + 1 || (scrolls && end),
      inside: box.getBoundingClientRect().right <= panel.getBoundingClientRect().right + 1,
      text: box.textContent,
    };
  });
  const table = panel.querySelector('table');
  return {
    page: document.documentElement.scrollWidth,
    window: window.innerWidth,
    panel: [panel.scrollWidth, panel.clientWidth],
    tableInside: table.closest('.table-wrap')
      ? table.closest('.table-wrap').getBoundingClientRect().right <= panel.getBoundingClientRect().right + 1
      : table.getBoundingClientRect().right <= panel.getBoundingClientRect().right + 1,
    boxes,
  };
}
"""


def test_the_step_panel_keeps_its_attempts_and_errors_inside_its_card(logged_in, team):
    version, _ = Workflow.import_definition(
        {"id": "long-errors", "steps": [{"id": "flaky", "component": "core.fail", "inputs": {"times": 9}}]}, team=team
    )
    run = make_run(version.workflow, {"flaky": "failed"}, run_status="failed")
    step = StepRun.objects.get(run=run)
    now = timezone.now()
    step.attempt, step.error, step.worker = 4, long_error(4), "worker-" + "x" * 60 + ":4242"
    step.save()
    StepAttempt.objects.bulk_create(
        StepAttempt(
            step_run=step, number=n, status="failed", worker=step.worker, error=long_error(n), started=now, finished=now
        )
        for n in range(1, 5)
    )
    page = logged_in
    page.goto(f"/runs/{run.pk}/")
    page.locator("#step-flaky").click()
    page.locator("#step-panel table").wait_for()
    found = page.evaluate(FITS)
    screenshot(page, "run-step-panel-long-errors")
    assert found["window"] == WINDOW_WIDTH
    assert found["page"] <= WINDOW_WIDTH, found["page"]  # the page grew to 1,410-1,596 px
    assert found["panel"][0] <= found["panel"][1], found["panel"]
    assert found["tableInside"]
    assert len(found["boxes"]) == 5  # the step's error, and each attempt's
    for box in found["boxes"]:
        assert box["wraps"] and box["readable"] and box["inside"], {k: v for k, v in box.items() if k != "text"}
    texts = [box["text"] for box in found["boxes"]]
    assert all(f"END-OF-ERROR-{n}" in "".join(texts) for n in range(1, 5))
    assert all(LONG_TOKEN in text for text in texts)  # whole, not cut


# --- item 5 ------------------------------------------------------------------------------

# At every change of the page, a sample of what each part says; kept when two parts disagree.
WATCH = """
() => {
  const FINAL = ['succeeded', 'failed', 'skipped', 'cancelled'];
  window.__samples = 0;
  window.__disagreements = [];
  const sample = () => {
    const head = document.querySelector('#run-head .badge').textContent.trim();
    const rows = {};
    document.querySelectorAll('#run-steps tbody tr').forEach((row) => {
      rows[row.dataset.step] = row.querySelector('.badge').textContent.trim();
    });
    const nodes = {};
    document.querySelectorAll('svg.dag g.node').forEach((node) => {
      const status = Array.from(node.classList).find((name) => name.startsWith('st-'));
      nodes[node.dataset.step] = status ? status.slice(3) : '';
    });
    const finished = Number(document.querySelector('#run-progress [data-finished]').textContent);
    const segments = {};
    document.querySelectorAll('#run-progress .progress span[title]').forEach((span) => {
      const [count, status] = span.title.split(' ');
      segments[status] = Number(count);
    });
    const counts = {};
    Object.values(rows).forEach((status) => { if (status !== 'pending') counts[status] = (counts[status] || 0) + 1; });
    const problems = [];
    const statuses = Object.values(rows);
    const final = statuses.filter((status) => FINAL.includes(status)).length;
    const same = (x, y) => JSON.stringify(Object.entries(x).sort()) === JSON.stringify(Object.entries(y).sort());
    if (head === 'succeeded' && final < statuses.length) problems.push('header ahead of rows');
    if (finished !== final) problems.push('progress count');
    if (!same(segments, counts)) problems.push('progress segments');
    const drawn = Object.keys(nodes).length > 0;
    if (drawn && Object.keys(rows).some((step) => nodes[step] !== rows[step])) problems.push('graph');
    window.__samples += 1;
    if (problems.length) window.__disagreements.push({ problems, head, rows, nodes, finished, segments });
  };
  sample();
  new MutationObserver(sample).observe(document.getElementById('run-live'), {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
}
"""


def diamond() -> dict:
    """first, then a, b and a retried c side by side (one worker slot: one at a time), then last."""
    queue = step_queue()
    sleep = {"component": "core.sleep", "inputs": {"seconds": 0.2}, **queue}
    retried = {"retry": {"max_attempts": 2, "backoff": "fixed", "delay": 0.3, "jitter": False}}
    return {
        "id": "diamond",
        "steps": [
            {"id": "first", **sleep},
            {"id": "a", **sleep, "depends_on": ["first"]},
            {"id": "b", **sleep, "depends_on": ["first"]},
            {"id": "c", "component": "core.fail", "inputs": {"times": 1}, "depends_on": ["first"], **retried, **queue},
            {"id": "last", **sleep, "depends_on": ["a", "b", "c"]},
        ],
    }


def test_one_update_moves_header_progress_rows_and_graph_together(logged_in, team):
    Workflow.import_definition(diamond(), team=team)
    page = logged_in
    run = start_from_workflow_page(page, "diamond")
    page.locator("svg.dag[data-ready='true']").wait_for()
    page.evaluate(WATCH)
    page.locator("#run-head .badge", has_text="succeeded").wait_for(timeout=20_000)
    page.locator("#step-last .badge", has_text="succeeded").wait_for()
    page.wait_for_timeout(300)  # the last update's stragglers, if any
    samples, disagreements = page.evaluate("[window.__samples, window.__disagreements]")
    assert samples > 5, samples  # the page was watched while it changed
    assert disagreements == [], disagreements[:3]
    assert page.locator("svg.dag g.node.st-succeeded").count() == 5
    run.refresh_from_db()
    assert run.status == "succeeded"


# --- item 6 ------------------------------------------------------------------------------


TIMELINE_BOXES = """(step) => {
  const row = document.querySelector(`#run-timeline .tl-row[data-step="${step}"]`);
  const [runs, backoffs] = ['.tl-exec', '.tl-backoff'].map((css) => [...row.querySelectorAll(css)]);
  return [runs[0], backoffs[0], runs[1], backoffs[1], runs[2]].map((element) => {
    const box = element.getBoundingClientRect();
    return {x: box.x, width: box.width};
  });
}"""


def test_the_timeline_shows_each_attempt_of_a_retried_step(logged_in, team):
    retry = {"max_attempts": 3, "backoff": "fixed", "delay": 0.4, "jitter": False}
    definition = {
        "id": "retried-live",
        "steps": [{"id": "flaky", "component": "core.fail", "inputs": {"times": 2}, "retry": retry, **step_queue()}],
    }
    Workflow.import_definition(definition, team=team)
    page = logged_in
    start_from_workflow_page(page, "retried-live")
    page.locator("#run-head .badge", has_text="succeeded").wait_for(timeout=20_000)
    row = page.locator('#run-timeline .tl-row[data-step="flaky"]')
    row.locator(".tl-exec").nth(2).wait_for()  # the final picture comes with the run's end
    runs = row.locator(".tl-exec")
    assert runs.count() == 3
    assert [runs.nth(n).get_attribute("data-attempt") for n in range(3)] == ["1", "2", "3"]
    assert "st-succeeded" in runs.nth(2).get_attribute("class") and "st-failed" in runs.nth(0).get_attribute("class")
    backoffs = row.locator(".tl-backoff")
    assert backoffs.count() == 2
    # Drawn, left to right: attempt 1, back-off, attempt 2, back-off, attempt 3. Measured in one
    # script, so that a live swap landing between two measurements can't detach what is measured.
    boxes = page.evaluate(TIMELINE_BOXES, "flaky")
    assert all(box["width"] > 0 for box in boxes), boxes
    assert [box["x"] for box in boxes] == sorted(box["x"] for box in boxes)
    page.locator("#step-flaky").click()
    page.locator("#step-panel [data-col='queue-wait']").first.wait_for()
    assert page.locator("#step-panel tbody[data-attempt='3'] [data-col='backoff']").inner_text() == "400 ms"
    screenshot(page, "run-retried-timeline")
