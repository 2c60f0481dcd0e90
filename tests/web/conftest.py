"""Logged-in clients for the page tests."""

import pytest


@pytest.fixture
def owner_client(login, owner):
    return login(owner)


@pytest.fixture
def outsider_client(login, outsider):
    return login(outsider)


def make_run(workflow, statuses: dict[str, str] | None = None, run_status="running"):
    """A run of `workflow`'s latest version with its step rows, without executing anything.

    statuses: step id -> status (steps not named stay pending).
    """
    from django.utils import timezone

    from workflows.execution.models import Run, StepRun

    version = workflow.latest_version()
    now = timezone.now()
    run = Run.objects.create(workflow=workflow, version=version, status=run_status, started=now)
    rows = []
    for step in version.definition["steps"]:
        status = (statuses or {}).get(step["id"], "pending")
        row = StepRun(run=run, step_id=step["id"], component=step["component"], status=status)
        if status != "pending":
            row.enqueued = now
        if status in ("running", "succeeded", "failed"):
            row.started = now
        if status in ("succeeded", "failed", "skipped", "cancelled"):
            row.finished = now
        rows.append(row)
    StepRun.objects.bulk_create(rows)
    return run


@pytest.fixture
def run_of(make_workflow):
    """run_of(statuses=None, definition=None) -> a Run in the database (see make_run)."""

    def make(statuses=None, definition=None, run_status="running"):
        return make_run(make_workflow(definition), statuses, run_status)

    return make
