"""Browser tests: Playwright driving Debian's headless Chromium against a live daphne.

Marked `browser`; deselect locally with `-m "not browser"`. Screenshots go to
var/screenshots/ (not committed) for people to look at.
"""

import functools
import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from tests.conftest import PASSWORD, make_user, settle_runs

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
# Distributed mode: the browser tests' steps go to a worker of their own with one slot.
BROWSER_QUEUE = "browser"
# The machine notes' flags: no sandbox as root, and no background traffic to
# Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    kept, deselected = [], []
    for item in items:
        if here not in Path(item.fspath).parents:
            kept.append(item)
            continue
        item.add_marker(pytest.mark.browser)
        item.add_marker(pytest.mark.slow)
        item.obj = closing_its_connection(item.obj)
        if settings.EMBEDDED or getattr(item.module, "BOTH_MODES", False):
            kept.append(item)
        else:
            deselected.append(item)
    if deselected:
        # A page draws the same whichever mode serves it: those tests run in the embedded suite
        # only (CI runs both suites). Modules whose path differs by mode (live events through
        # Redis, runs on real workers) say BOTH_MODES = True.
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing browser test's report carries what the page showed and what the server logged.

    CI keeps only the end of its output: the page's text and the daphne's
    last lines say at once whether the server answered, and what.
    """
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    page = item.funcargs.get("page")
    if page is not None:
        try:
            text = page.evaluate("() => (document.querySelector('main') || document.body).innerText")
            report.sections.append(("page at the failure", f"{page.url}\n{text[:3000]}"))
        except Exception as exc:  # the page may be gone with what failed
            report.sections.append(("page at the failure", f"unreadable: {exc}"))
    server = item.funcargs.get("oaweb_server")
    if server is not None:
        report.sections.append(("oaweb server, last lines", "\n".join(list(server.output)[-60:])))


def closing_its_connection(test):
    """Close the test body's own database connection when it ends.

    With Playwright's event loop running in this thread, the body of a test
    gets a Django connection of its own (another context than its fixtures'),
    which nothing else would close; PostgreSQL then refuses to drop the test
    database at the end of the session.
    """

    @functools.wraps(test)
    def run(*args, **kwargs):
        try:
            return test(*args, **kwargs)
        finally:
            connections.close_all()

    return run


@pytest.fixture
def chromium():
    """A fresh browser per test (about half a second to start).

    Playwright's sync API keeps an event loop running in this thread, which
    makes Django's ORM refuse to run here; the test's own queries are plain
    sync code, so that guard is lifted for exactly the browser's lifetime.
    """
    executable = shutil.which("chromium")
    if not executable:
        if os.environ.get("OAWEB_REQUIRE_SERVICES") in ("1", "true"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's package)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()

    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(scope="module")
def oaweb_server_process(django_db_setup, django_db_blocker):
    """A daphne per test module; in distributed mode also a one-slot worker on queue `browser`.

    Embedded mode keeps a run's hot state in the memory of the one process
    that runs it, so two embedded processes must never share a database: this
    test process's own worker stops while the server runs (the next engine
    test starts it again), and the server stops with its module.
    """
    from tests.server import LiveServer

    if settings.EMBEDDED:
        from workflows.execution.embedded import stop_embedded_worker

        stop_embedded_worker()
    with django_db_blocker.unblock():
        # One step at a time in embedded mode, so a fan-out's second step is seen waiting in its queue.
        server = LiveServer(extra_env={"OAWEB_EMBEDDED_CONCURRENCY": "1"})
        pool = None
        if not settings.EMBEDDED:
            from tests.workers import WorkerPool

            pool = WorkerPool()
            pool.start("browser", queues=BROWSER_QUEUE, concurrency=1)
        yield server
        if pool:
            pool.stop_all()
        server.stop()


def step_queue() -> dict:
    """The queue a browser test's steps go to: the one-slot worker's (distributed) or the embedded one."""
    return {} if settings.EMBEDDED else {"queue": BROWSER_QUEUE}


@pytest.fixture
def oaweb_server(oaweb_server_process, transactional_db, components):
    """The server process shares the test database: data must be committed (transactional_db).

    Its runs are settled before the database is flushed, as the workers
    fixture does: a run or a rollup still being written deadlocked the flush.
    """
    yield oaweb_server_process
    settle_runs()


@pytest.fixture
def page(oaweb_server, chromium):
    context = chromium.new_context(base_url=oaweb_server.url, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    # Shown with a failing test's output: what the page's scripts said.
    page.on("console", lambda message: print(f"[browser {message.type}] {message.text}"))
    page.on("pageerror", lambda error: print(f"[browser error] {error}"))
    page.on("response", lambda reply: reply.status >= 400 and print(f"[browser {reply.status}] {reply.url}"))
    yield page
    context.close()


@pytest.fixture
def user(team):
    """A team member whose password the server can check: it uses Django's default hasher, not the tests' fast one."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    user = make_user("ada", team)
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    user.save(update_fields=["password"])
    return user


@pytest.fixture
def logged_in(page, user):
    """A page whose user logged in through the login form."""
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()
    return page


def type_into_editor(page, text: str):
    """Replace the code editor's text as a person does: Ctrl+A, then the text typed in.

    Not Playwright's fill: it selects the editor's content through the DOM,
    behind CodeMirror's back, and CodeMirror sometimes puts its own caret
    back before the text arrives (2 fills in 120 on a busy machine left the
    old text after the new). Ctrl+A is CodeMirror's own command.
    """
    editor = page.locator(".cm-content")
    editor.focus()
    editor.press("Control+A")
    page.keyboard.insert_text(text)


def screenshot(page, name: str, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
