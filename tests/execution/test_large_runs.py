"""A large run answers at once, `pending`; a worker writes its steps after the answer.

Before, a 20,000-step run took 66-72 s to start inside one HTTP request, and
a client that timed out and retried created a second run.
"""

import time

import pytest
from rest_framework.test import APIClient

from registry import lookup
from tests.api.conftest import as_user
from workflows.execution import transitions
from workflows.execution.models import Run, StepRun
from workflows.execution.runs import cancel_run, rerun, start_run, wait_for_run
from workflows.execution.status import RunStatus, StepStatus
from workflows.models import Workflow


def fan_out(slug: str, width: int, failing: bool = False) -> dict:
    """One root and `width` children reading its output; `failing`: one more step, alone, that fails."""
    steps = [{"id": "root", "component": "core.noop", "inputs": {"value": 1}}]
    for number in range(width):
        steps.append(
            {"id": f"leaf{number}", "component": "core.noop", "inputs": {"value": "{{ steps.root.outputs.value }}"}}
        )
    if failing:
        steps.append({"id": "bad", "component": "core.fail", "inputs": {"message": "on purpose"}})
    return {"id": slug, "version": "1.0.0", "steps": steps}


@pytest.fixture
def inline_limit(settings):
    settings.OAWEB_START_INLINE_STEPS = 20
    return 20


def test_a_large_run_answers_pending_with_its_steps_written_after(workers, team, inline_limit):
    version, _ = Workflow.import_definition(fan_out("wide", 60), team=team)

    run = start_run(version, {})

    assert run.status == RunStatus.PENDING and not run.steps_created  # written by a worker after the answer
    run = wait_for_run(run, timeout=60)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.steps_created
    assert StepRun.objects.filter(run=run, status=StepStatus.SUCCEEDED).count() == 61


def test_a_small_run_still_writes_its_steps_inline(components, team, inline_limit, django_capture_on_commit_callbacks):
    version, _ = Workflow.import_definition(fan_out("narrow", 5), team=team)

    with django_capture_on_commit_callbacks(execute=False):
        run = start_run(version, {})

    assert run.steps_created and StepRun.objects.filter(run=run).count() == 6


def deferred_run(version) -> Run:
    """A deferred run whose message creating its steps was lost (never sent)."""
    run, ready = transitions.create_run(
        version,
        {},
        lookup.components(),
        created_by=None,
        priority=5,
        trigger="manual",
        rerun_of=None,
        reused={},
        defer=True,
    )
    assert ready == [] and not run.steps_created
    return run


def test_the_reaper_writes_the_steps_when_their_message_was_lost(workers, team):
    version, _ = Workflow.import_definition(fan_out("lost", 30), team=team)

    run = deferred_run(version)

    # The reaper waits a lease (3 s in the tests) for the message, then writes them itself.
    run = wait_for_run(run, timeout=60)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert StepRun.objects.filter(run=run, status=StepStatus.SUCCEEDED).count() == 31


def test_a_duplicate_message_writes_the_steps_once(components, team):
    version, _ = Workflow.import_definition(fan_out("twice", 30), team=team)
    run = deferred_run(version)

    first = transitions.create_deferred_steps(run.pk, lookup.components())
    second = transitions.create_deferred_steps(run.pk, lookup.components())

    assert [message.step_run_id for message in first] == [StepRun.objects.get(run=run, step_id="root").pk]
    assert second == []
    assert StepRun.objects.filter(run=run).count() == 31
    assert Run.objects.get(pk=run.pk).unfinished == 31


def test_a_run_cancelled_before_its_steps_exist_stays_cancelled(components, team):
    version, _ = Workflow.import_definition(fan_out("cancelled", 30), team=team)
    run = deferred_run(version)

    assert cancel_run(run)
    assert transitions.create_deferred_steps(run.pk, lookup.components()) == []

    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert StepRun.objects.filter(run=run).count() == 0
    assert transitions.stalled_runs() == []


def test_a_deferred_run_is_not_taken_for_stalled_while_its_message_may_still_come(components, team):
    version, _ = Workflow.import_definition(fan_out("young", 30), team=team)
    run = deferred_run(version)

    assert run.pk not in transitions.stalled_runs()
    Run.objects.filter(pk=run.pk).update(created=run.created - transitions.unclaimed_after())
    assert run.pk in transitions.stalled_runs()


def test_a_large_rerun_keeps_what_succeeded(workers, team, inline_limit):
    version, _ = Workflow.import_definition(fan_out("again", 30, failing=True), team=team)
    failed = wait_for_run(start_run(version, {}), timeout=60)
    assert failed.status == RunStatus.FAILED

    again = wait_for_run(rerun(failed), timeout=60)

    assert again.status == RunStatus.FAILED  # the failing step ran again, and failed again
    assert again.steps.get(step_id="bad").attempt == 1
    reused = StepRun.objects.filter(run=again, reused_from__isnull=False)
    assert reused.count() == 31  # the root and the 30 leaves


@pytest.mark.slow
def test_a_20000_step_run_is_answered_by_the_api_before_its_steps_exist(
    components, team, owner, django_capture_on_commit_callbacks
):
    """Printed, not asserted as a time: the answer writes one row; the steps are written after it."""
    Workflow.import_definition(fan_out("huge", 19_999), team=team)
    api = as_user(APIClient(), owner)

    started = time.perf_counter()
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post("/api/v1/runs/", {"workflow": "huge"}, format="json")
    answered = time.perf_counter() - started
    assert response.status_code == 201, response.content
    assert response.json()["status"] == RunStatus.PENDING
    run_id = response.json()["id"]
    assert StepRun.objects.filter(run_id=run_id).count() == 0

    transitions.create_deferred_steps(run_id, lookup.components())
    written = time.perf_counter() - started - answered
    print(f"20,000 steps: the API answered in {answered * 1000:.0f} ms; the steps were written in {written:.1f} s")
    assert StepRun.objects.filter(run_id=run_id).count() == 20_000
