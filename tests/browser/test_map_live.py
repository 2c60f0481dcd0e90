"""Issue 19 in Chromium: a map's node counts its items live, and its panel lists them, without a reload.

The run is written into the database as the engine leaves a map that waits
for its items (tests/web/test_map_page.py); items then end the way the
engine ends them: their rows change and a step event is published
(workflows/execution/events.py), which this embedded process relays to the
server's (workflows/web/layers.py).
"""

from django.utils import timezone

from tests.browser.conftest import screenshot
from tests.web.test_map_page import item_statuses, make_map_run
from workflows.execution import events
from workflows.execution.models import StepRun

COUNTS = "document.querySelector('svg.dag g.node.map[data-step=\"each\"]').getAttribute('data-counts')"

# Counts the page's live updates, and notes a reload (the flag would be gone).
WATCH = """
() => {
  window.__updates = 0;
  window.__notReloaded = true;
  document.getElementById('run-live').addEventListener('run:updated', () => { window.__updates += 1; });
}
"""


def end_items(run, indexes, status="succeeded"):
    """Items end as the engine ends them: their rows, then one event each."""
    now = timezone.now()
    for index in indexes:
        step = StepRun.objects.get(run=run, step_id=f"each[{index}]")
        step.status, step.attempt, step.finished = status, 1, now
        step.started = step.started or now
        step.error = "it broke" if status == "failed" else ""
        step.save(update_fields=["status", "attempt", "started", "finished", "error"])
        events.step_changed(step)


def test_the_map_node_and_its_items_follow_item_events_live(logged_in, team):
    run = make_map_run(team, item_statuses(120, done=30, running=4, failed=2))
    page = logged_in
    page.goto(f"/runs/{run.pk}/")
    node = page.locator('svg.dag g.node.map[data-step="each"]')
    node.wait_for()
    assert page.evaluate(COUNTS) == "done:30 running:4 failed:2 total:120"
    assert page.locator("#run-steps tbody tr").count() == 6  # the definition's steps, no item
    assert "30 of 120 done · 4 running · 2 failed" in page.locator("#step-each .step-note").inner_text()
    # A waiting step's node says what it waits for; its row says until when.
    assert "approval" in page.locator('svg.dag g.node[data-step="ok"] text.counts').text_content()
    assert "for approval until" in page.locator("#step-ok .step-note").inner_text()

    # The map's panel: its items, a page of them, failures a tab away.
    node.click()
    items = page.locator("#step-panel .map-items")
    items.wait_for()
    assert items.locator("tr[data-item]").count() == 50
    page.wait_for_timeout(300)  # the socket's catch-up is in
    page.evaluate(WATCH)

    end_items(run, range(36, 86))  # 50 pending items succeed, one by one, each with its event
    end_items(run, [86], status="failed")
    page.wait_for_function(f"() => {COUNTS} === 'done:80 running:4 failed:3 total:120'", timeout=10_000)
    page.locator("#step-each .step-note", has_text="80 of 120 done · 4 running · 3 failed").wait_for()
    items.locator(".map-counts", has_text="80 of 120 done · 4 running · 3 failed").wait_for()
    assert page.evaluate("window.__notReloaded") is True
    updates = page.evaluate("window.__updates")
    assert 1 <= updates <= 20, updates  # 51 events, coalesced into a few updates
    assert page.locator("#run-steps tbody tr").count() == 6
    screenshot(page, "run-map-live", full_page=False)

    # The failed tab, then an item opened in the panel with its attempts, and back to its map.
    items.locator('a[data-filter="failed"]').click()
    page.wait_for_function("() => document.querySelectorAll('#step-panel tr[data-item]').length === 3")
    assert items.locator("tr[data-item]").all_inner_texts()[-1].startswith("86")
    items.scroll_into_view_if_needed()
    screenshot(page, "run-map-items", full_page=False)
    items.locator('a[data-open-step="each[86]"]').click()
    page.locator("#step-panel h2", has_text="each[86]").wait_for()
    assert "Item 86 of map each" in page.locator("#step-panel .map-of").inner_text()
    page.locator('#step-panel a[data-open-step="each"]').click()
    page.locator("#step-panel .map-items").wait_for()


# --- the review's cleanup (issue 19, item 5): one dark palette, data-theme always set by theme.js ---

LUMINANCE = """
() => {
  const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number);
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}
"""
# Rules of the page's own sheets inside a prefers-color-scheme @media: the palette that used to be twice.
SCHEME_RULES = """
() => Array.from(document.styleSheets).flatMap((sheet) => Array.from(sheet.cssRules))
  .filter((rule) => rule instanceof CSSMediaRule && rule.conditionText.includes('prefers-color-scheme')).length
"""


def test_the_theme_is_always_set_and_follows_the_system_until_one_is_chosen(logged_in):
    page = logged_in
    page.emulate_media(color_scheme="light")
    page.goto("/runs/")
    theme = "document.documentElement.dataset.theme"
    assert page.evaluate(theme) == "light" and page.evaluate(LUMINANCE) > 0.8
    assert page.evaluate(SCHEME_RULES) == 0

    page.emulate_media(color_scheme="dark")  # the system changes while the page is open
    page.wait_for_function(f"() => {theme} === 'dark'")
    assert page.evaluate(LUMINANCE) < 0.2 and page.evaluate("localStorage.getItem('oaweb-theme')") is None

    page.locator("[data-theme-toggle]").click()  # Auto (dark here) -> light, chosen
    assert page.evaluate(theme) == "light" and page.evaluate("localStorage.getItem('oaweb-theme')") == "light"
    page.emulate_media(color_scheme="light")
    page.emulate_media(color_scheme="dark")
    assert page.evaluate(theme) == "light" and page.evaluate(LUMINANCE) > 0.8  # a choice outranks the system's
    page.reload()
    assert page.evaluate(theme) == "light"
