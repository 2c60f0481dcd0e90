"""Personas and small factories shared by every suite.

* owner: member of `team`, which owns the workflows made by `make_workflow`
* member: another member of `team`
* outsider: member of `other_team` only
* staff: sees everything
"""

import os
import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from registry import lookup
from registry.catalog import CATALOG
from registry.models import Component
from workflows.execution.models import Run
from workflows.execution.status import RunStatus
from workflows.models import Team, Workflow

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def team(db):
    return Team.objects.create(name="alpha")


@pytest.fixture
def other_team(db):
    return Team.objects.create(name="beta")


def make_user(username, *teams, is_staff=False, is_superuser=False):
    user = get_user_model().objects.create_user(
        username, f"{username}@example.com", PASSWORD, is_staff=is_staff, is_superuser=is_superuser
    )
    for team in teams:
        team.members.add(user)
    return user


@pytest.fixture
def owner(team):
    return make_user("owner", team)


@pytest.fixture
def member(team):
    return make_user("member", team)


@pytest.fixture
def outsider(other_team):
    return make_user("outsider", other_team)


@pytest.fixture
def staff(db):
    return make_user("staff", is_staff=True, is_superuser=True)


def noop_definition(slug="hello", steps=2):
    """A small valid chain of core.noop steps."""
    definition = {
        "id": slug,
        "name": slug.title(),
        "version": "1.0.0",
        "inputs": {"greeting": {"type": "string", "default": "hi"}},
        "steps": [{"id": "s1", "component": "core.noop", "inputs": {"value": "{{ inputs.greeting }}"}}],
        "outputs": {},
    }
    for number in range(2, steps + 1):
        definition["steps"].append(
            {
                "id": f"s{number}",
                "component": "core.noop",
                "inputs": {"value": f"{{{{ steps.s{number - 1}.outputs.value }}}}"},
            }
        )
    definition["outputs"] = {"value": f"{{{{ steps.s{steps}.outputs.value }}}}"}
    return definition


@pytest.fixture
def make_workflow(team, owner):
    def make(definition=None, team_=None):
        definition = definition or noop_definition()
        version, _ = Workflow.import_definition(definition, team=team_ or team, author=owner)
        return version.workflow

    return make


# --- engine: components in the database, workers that execute steps ------------


def require_services() -> bool:
    """CI sets OAWEB_REQUIRE_SERVICES so that a missing service fails instead of skipping."""
    return os.environ.get("OAWEB_REQUIRE_SERVICES", "") in ("1", "true")


@pytest.fixture(scope="session", autouse=True)
def stop_background_threads(django_db_setup):
    """The embedded worker's heartbeat and reaper must stop before the test database is dropped."""
    yield
    from workflows.execution.heartbeat import stop_maintenance_thread

    stop_maintenance_thread()


@pytest.fixture(autouse=True)
def fresh_registry_cache():
    """A test whose transaction rolls back never bumps the generation: start each afresh."""
    lookup.invalidate()


@pytest.fixture
def components(db):
    """Every catalogued component (built-ins and tests/components.py) in the database."""
    Component.sync(CATALOG.values())
    lookup.invalidate()
    yield
    lookup.invalidate()


@pytest.fixture(scope="session")
def worker_processes(django_db_setup, django_db_blocker):
    """Distributed mode: real `runworker` processes on the test database and Redis."""
    if settings.EMBEDDED:
        pytest.skip("needs REDIS_URL (distributed mode)")
    from tests.workers import WorkerPool

    with django_db_blocker.unblock():
        # The engine tests' HTTP steps call servers on 127.0.0.1.
        pool = WorkerPool(extra_env={"OAWEB_HTTP_ALLOW_PRIVATE": "true"})
        pool.start("general", queues="default", concurrency=8)
        yield pool
        pool.stop_all()


@pytest.fixture
def workers(request, transactional_db, components):
    """Whatever executes steps in this mode: the in-process worker, or runworker processes.

    Engine tests use it and run unchanged in both modes: one engine.
    """
    if settings.EMBEDDED:
        from workflows.execution.embedded import ensure_embedded_worker
        from workflows.execution.heartbeat import ensure_maintenance_thread, stop_maintenance_thread

        ensure_embedded_worker()
        ensure_maintenance_thread()  # stopped after the last test that used it
        yield None
        # Its heartbeat writes this process's Worker row and rollups: not into
        # the database of tests that count those rows themselves.
        stop_maintenance_thread()
    else:
        yield request.getfixturevalue("worker_processes")
        settle_runs()


def settle_runs(timeout: float = 5.0) -> None:
    """Let runs a test left going finish (else cancel them) before the database is flushed.

    A worker still finishing a run holds row locks across several tables
    while pytest-django's TRUNCATE locks them one by one: PostgreSQL then
    breaks the deadlock by failing the flush. So does a worker's heartbeat
    adding finished runs to the rollups: the list is emptied here first,
    and a batch a worker took is waited for.
    """
    from workflows.execution.runs import cancel_run
    from workflows.metrics import rollups

    deadline = time.monotonic() + timeout
    unfinished = Run.objects.filter(status__in=[RunStatus.PENDING, RunStatus.RUNNING])
    while unfinished.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    for run in unfinished:
        cancel_run(run)
    wait_until(lambda: rollups.add_pending() == 0 and not rollups.PendingRollup.objects.exists(), timeout=timeout)


def run_definition(definition, inputs=None, team=None, timeout=60):
    """Import `definition`, start a run and wait for it to finish."""
    from workflows.definitions.validation import validate
    from workflows.execution.runs import start_run, wait_for_run

    result = validate(definition)
    assert result["valid"], result["issues"]
    version, _ = Workflow.import_definition(definition, team=team or Team.default())
    run = start_run(version, inputs or {})
    return wait_for_run(run, timeout=timeout)


@pytest.fixture
def login():
    """login(user) -> a Client with that user's session."""

    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


def wait_until(predicate, timeout: float = 15) -> bool:
    """Poll `predicate` every 0.1 s for up to `timeout` seconds; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


# --- the chaos tests' counts in every run's output --------------------------------
# pytest hides what a passing test prints; the chaos tests' counts (runs
# finished, successes recorded twice, steps run again) are their evidence,
# so they are repeated at the end of the run, CI's included.
_chaos_counts: list[tuple[str, str]] = []


def pytest_runtest_logreport(report):
    if report.when == "call" and "chaos" in report.keywords and report.capstdout:
        _chaos_counts.append((report.nodeid, report.capstdout))


def pytest_terminal_summary(terminalreporter):
    browser_skips = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if "browser" in report.keywords and "chromium is not installed" in str(report.longrepr)
    ]
    if browser_skips:
        terminalreporter.write_line(
            f"{len(browser_skips)} browser tests skipped: chromium is not installed "
            "(apt install chromium, or run `bash .ci/run`, which installs it)",
            yellow=True,
            bold=True,
        )
    if _chaos_counts:
        terminalreporter.section("chaos tests: what was lost, stuck or done twice")
        for nodeid, output in _chaos_counts:
            terminalreporter.write_line(nodeid)
            terminalreporter.write(output)
