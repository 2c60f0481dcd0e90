"""Every page in light and dark, photographed to var/screenshots/<page>-<theme>.png for people to look at.

Each page also has to pass a few checks of its own: its main heading is visible
and readable against the background, nothing makes the page scroll sideways,
and the body's background is dark in the dark theme and light in the light one.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.browser.conftest import screenshot
from tests.browser.test_comfort import LUMINANCE, log_in
from tests.browser.test_run_story import retried_run
from tests.conftest import noop_definition
from tests.web.conftest import make_run
from workflows.execution.models import Run
from workflows.models import Workflow
from workflows.tokens import ApiToken
from workflows.triggers.models import Schedule

VIEWPORT = {"width": 1280, "height": 860}

CHECKS = """
(selector) => {
  const heading = document.querySelector(selector);
  const rgb = (text) => text.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  const box = heading && heading.getBoundingClientRect();
  return {
    heading: heading ? heading.textContent.trim().replace(/\\s+/g, ' ') : null,
    shown: Boolean(box && box.width > 0 && box.height > 0 && getComputedStyle(heading).visibility === 'visible'),
    ink: heading ? lum(rgb(getComputedStyle(heading).color)) : null,
    overflow: document.scrollingElement.scrollWidth - window.innerWidth,
  };
}
"""


@pytest.fixture
def story(team, user):
    """A little of everything: workflows with runs, a retried step, a schedule, a token."""
    definition = {**noop_definition("greetings", steps=3), "description": "Says *hello* to `everyone`."}
    definition["tags"] = ["demo", "daily"]
    version, _ = Workflow.import_definition(definition, team=team, author=user)
    workflow = version.workflow
    for minutes, status in ((50, "succeeded"), (30, "failed"), (10, "succeeded")):
        run = make_run(
            workflow,
            {"s1": "succeeded", "s2": status, "s3": "succeeded" if status == "succeeded" else "skipped"},
            run_status=status,
        )
        moment = timezone.now() - timedelta(minutes=minutes)
        Run.objects.filter(pk=run.pk).update(
            created=moment,
            finished=moment,
            inputs={"greeting": "hi"},
            outputs={"value": "hi"} if status == "succeeded" else None,
        )
    make_run(workflow, {"s1": "succeeded", "s2": "running"})
    retried = retried_run(team)
    Schedule.objects.create(workflow=workflow, name="mornings", cron="30 7 * * 1-5", timezone="UTC", created_by=user)
    ApiToken.issue(user, "laptop")
    return {
        "workflow": workflow,
        "run": Run.objects.filter(workflow=workflow, status="failed").get(),
        "retried": retried,
    }


def pages(story) -> list[tuple[str, str, str]]:
    """(name, path, the selector of its main heading)."""
    slug, run = story["workflow"].slug, story["run"]
    return [
        ("dashboard", "/", "main h1"),
        ("workflows", "/workflows/", "main h1"),
        ("workflow-detail", f"/workflows/{slug}/", "main h1"),
        ("editor", f"/workflows/{slug}/edit/", "main h1"),
        ("run-form", f"/runs/{run.pk}/again/", "main h1"),
        ("runs", "/runs/", "main h1"),
        ("run-detail", f"/runs/{story['retried'].pk}/", "main h1"),
        ("step-panel", f"/runs/{story['retried'].pk}/", "#step-panel h2"),
        ("components", "/components/", "main h1"),
        ("metrics", "/stats/", "main h1"),
        ("triggers", f"/workflows/{slug}/triggers/", "main h1"),
        ("tokens", "/tokens/", "main h1"),
        ("credentials", "/credentials/", "main h1"),
        ("alerts", "/alerts/", "main h1"),
        ("workers", "/workers/", "main h1"),
        ("not-found", "/workflows/no-such-workflow/", "main h1"),
    ]


def check(page, name, theme, selector):
    page.locator(selector).first.wait_for()
    seen = page.evaluate(CHECKS, selector)
    background = page.evaluate(LUMINANCE)
    screenshot(page, f"{name}-{theme}")
    assert seen["shown"], (name, seen)
    assert seen["overflow"] <= 0, (name, seen)  # nothing scrolls sideways
    if theme == "dark":
        assert background < 0.2 and seen["ink"] > 0.6, (name, background, seen)
    else:
        assert background > 0.8 and seen["ink"] < 0.4, (name, background, seen)
    return seen["heading"]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_page_in_light_and_dark(oaweb_server, chromium, user, story, theme):
    context = chromium.new_context(base_url=oaweb_server.url, color_scheme=theme, viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/login/")
    assert check(page, "login", theme, "main h1") == "Log in"
    log_in(page, user)
    headings = {}
    for name, path, selector in pages(story):
        page.goto(path)
        if name in ("run-detail", "step-panel"):
            page.wait_for_function("() => document.querySelector('svg.dag')?.dataset.ready === 'true'")
        if name == "step-panel":
            page.locator("#step-flaky").click()
            page.locator("#step-panel tbody[data-attempt='2']").wait_for()
        if name == "workflow-detail":
            page.locator(".triggers table, .triggers .empty").first.wait_for()  # the panel loads after the page
        headings[name] = check(page, name, theme, selector)
    assert headings["not-found"] == "Not found"
    assert headings["step-panel"].startswith("Step flaky")
    assert headings["run-form"] == "Run Greetings again"
    context.close()
