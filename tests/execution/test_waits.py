"""Steps that wait holding no worker: a time, an event posted to the API, a person's decision (real workers)."""

import time

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import as_user
from tests.conftest import make_user
from workflows.execution import waits
from workflows.execution.models import PostedEvent, StepAttempt, StepRun
from workflows.execution.runs import cancel_run, start_run, wait_for_run
from workflows.models import Workflow

pytestmark = [pytest.mark.slow]


def start(team, steps, slug="waits"):
    version, _ = Workflow.import_definition({"id": slug, "steps": steps}, team=team)
    return start_run(version, {})


def waiting(run, step_id, timeout=30) -> StepRun:
    """The step once it waits; fails the test if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        step = StepRun.objects.get(run=run, step_id=step_id)
        if step.status == "waiting":
            return step
        assert step.status in ("pending", "queued", "running"), (step.status, step.error)
        time.sleep(0.05)
    raise AssertionError(f"{step_id} never waited")


def then(step_id="after", reads="{{ steps.w.outputs.waited_until }}"):
    return {"id": step_id, "component": "core.noop", "inputs": {"got": reads}}


def test_a_timed_wait_holds_no_worker_and_ends_by_itself(workers, team):
    run = start(team, [{"id": "w", "component": "core.wait", "inputs": {"seconds": 1}}, then()])
    step = waiting(run, "w")
    assert step.lease_expires is None and step.wait["kind"] == "time" and step.wait_until is not None
    run = wait_for_run(run, timeout=30)
    assert run.status == "succeeded", run.error
    waited = run.steps.get(step_id="w")
    assert waited.outputs == {"waited_until": step.wait_until.isoformat()}
    assert (waited.finished - waited.started).total_seconds() >= 1
    assert run.steps.get(step_id="after").inputs == {"got": waited.outputs["waited_until"]}
    assert list(StepAttempt.objects.filter(step_run=waited).values_list("status", flat=True)) == ["succeeded"]


def test_an_event_posted_to_the_api_ends_the_wait_with_its_payload(workers, team, owner, outsider):
    wait = {"id": "w", "component": "core.wait_for_event", "inputs": {"event": "paid"}}
    run = start(team, [wait, then(reads="{{ steps.w.outputs.payload.amount }}")])
    api = as_user(APIClient(), owner)
    waiting(run, "w")
    assert (
        as_user(APIClient(), outsider).post(f"/api/v1/runs/{run.pk}/events/paid", {}, format="json").status_code == 404
    )
    other = api.post(f"/api/v1/runs/{run.pk}/events/refunded", {"amount": 1}, format="json")
    assert other.json() == {"run": run.pk, "event": "refunded", "delivered": 0, "kept": True}  # nobody waits for it
    answer = api.post(f"/api/v1/runs/{run.pk}/events/paid", {"amount": 42}, format="json")
    assert answer.status_code == 202, answer.content
    assert answer.json() == {"run": run.pk, "event": "paid", "delivered": 1, "kept": False}
    run = wait_for_run(run, timeout=30)
    assert run.status == "succeeded", run.error
    assert run.steps.get(step_id="w").outputs == {"event": "paid", "payload": {"amount": 42}}
    assert run.steps.get(step_id="after").inputs == {"got": 42}
    again = api.post(f"/api/v1/runs/{run.pk}/events/paid", {"amount": 43}, format="json")
    assert again.status_code == 409 and "has ended" in again.json()["detail"]


def test_an_event_posted_before_its_step_waits_is_kept_for_it(workers, team, owner):
    """The payment came while the run was still at an earlier step: the wait takes it and ends at once."""
    first = {"id": "first", "component": "core.approval", "inputs": {"message": "go?"}}
    wait = {"id": "w", "component": "core.wait_for_event", "inputs": {"event": "paid"}, "depends_on": ["first"]}
    run = start(team, [first, wait, then(reads="{{ steps.w.outputs.payload.amount }}")])
    api = as_user(APIClient(), owner)
    waiting(run, "first")
    for amount in (42, 43):  # kept in the order they came: the first wait takes the first
        answer = api.post(f"/api/v1/runs/{run.pk}/events/paid", {"amount": amount}, format="json")
        assert answer.json() == {"run": run.pk, "event": "paid", "delivered": 0, "kept": True}
    assert api.post(f"/api/v1/runs/{run.pk}/steps/first/approve", {}, format="json").status_code == 200
    run = wait_for_run(run, timeout=30)
    assert run.status == "succeeded", run.error
    step = run.steps.get(step_id="w")
    assert step.outputs == {"event": "paid", "payload": {"amount": 42}}
    assert run.steps.get(step_id="after").inputs == {"got": 42}
    taken = PostedEvent.objects.filter(run=run).order_by("posted", "pk")
    assert [(event.payload["amount"], event.taken_by_id) for event in taken] == [(42, step.pk), (43, None)]


def test_a_run_keeps_only_so_many_events_nobody_took(workers, team, owner, settings):
    settings.OAWEB_MAX_POSTED_EVENTS = 2
    run = start(team, [{"id": "first", "component": "core.approval", "inputs": {"message": "go?"}}])
    api = as_user(APIClient(), owner)
    waiting(run, "first")
    codes = [api.post(f"/api/v1/runs/{run.pk}/events/e{n}", {}, format="json").status_code for n in range(3)]
    assert codes == [202, 202, 409]
    cancel_run(run)


def test_a_step_that_took_a_kept_event_but_did_not_end_ends_at_the_next_sweep(workers, team):
    """A crash between the wait that took the event and the step's end: the reaper's sweep ends it."""
    wait = {"id": "w", "component": "core.wait_for_event", "inputs": {"event": "paid"}}
    run = start(team, [wait, then(reads="{{ steps.w.outputs.payload.amount }}")])
    step = waiting(run, "w")
    posted = PostedEvent.objects.create(run=run, name="paid", payload={"amount": 5}, taken_by=step)
    StepRun.objects.filter(pk=step.pk).update(wait={**step.wait, "posted": posted.pk})
    waits.end_events_taken()  # or a worker's reaper pass, whichever comes first
    run = wait_for_run(run, timeout=30)
    assert run.status == "succeeded", run.error
    assert run.steps.get(step_id="w").outputs == {"event": "paid", "payload": {"amount": 5}}


def test_an_event_that_never_comes_fails_the_step_at_its_timeout(workers, team):
    wait = {"id": "w", "component": "core.wait_for_event", "inputs": {"event": "paid", "timeout_seconds": 0.5}}
    run = wait_for_run(start(team, [wait, then(reads="{{ steps.w.outputs.payload }}")]), timeout=30)
    assert run.status == "failed"
    assert "timed out: no event 'paid'" in run.steps.get(step_id="w").error
    assert run.steps.get(step_id="after").status == "skipped"


def approval(**inputs):
    return {"id": "w", "component": "core.approval", "inputs": {"message": "Refund 40 EUR?", **inputs}}


def test_approved_through_the_api_the_run_goes_on(workers, team, other_team, owner, outsider):
    run = start(team, [approval(), then(reads="{{ steps.w.outputs.by }}")])
    step = waiting(run, "w")
    assert step.wait == {
        "kind": "approval",
        "until": None,
        "message": "Refund 40 EUR?",
        "on_timeout": "reject",
        "on_reject": "fail",
    }
    url = f"/api/v1/runs/{run.pk}/steps/w/approve"
    assert as_user(APIClient(), outsider).post(url, {}, format="json").status_code == 404
    staff = make_user("staff-elsewhere", other_team, is_staff=True)  # sees every run, decides for its teams'
    assert as_user(APIClient(), staff).post(url, {}, format="json").status_code == 403
    assert StepRun.objects.get(pk=step.pk).status == "waiting"
    answer = as_user(APIClient(), owner).post(url, {"comment": "fine"}, format="json")
    assert answer.status_code == 200, answer.content
    run = wait_for_run(run, timeout=30)
    assert run.status == "succeeded", run.error
    outputs = run.steps.get(step_id="w").outputs
    assert (outputs["approved"], outputs["by"], outputs["comment"]) == (True, "owner", "fine")
    assert run.steps.get(step_id="after").inputs == {"got": "owner"}
    assert as_user(APIClient(), owner).post(url, {}, format="json").status_code == 409  # decided once


def test_rejected_the_step_fails_and_what_follows_is_skipped(workers, team, owner):
    run = start(team, [approval(), then(reads="{{ steps.w.outputs.by }}")])
    waiting(run, "w")
    answer = as_user(APIClient(), owner).post(f"/api/v1/runs/{run.pk}/steps/w/reject", {"comment": "no"}, format="json")
    assert answer.status_code == 200, answer.content
    run = wait_for_run(run, timeout=30)
    assert run.status == "failed"
    assert run.steps.get(step_id="w").error == "rejected by owner: no"
    assert run.steps.get(step_id="after").status == "skipped"


def test_a_rejection_may_continue_and_a_timeout_decides(workers, team, owner):
    run = start(team, [approval(on_reject="continue"), then(reads="{{ steps.w.outputs.approved }}")])
    waiting(run, "w")
    as_user(APIClient(), owner).post(f"/api/v1/runs/{run.pk}/steps/w/reject", {}, format="json")
    run = wait_for_run(run, timeout=30)
    assert run.status == "succeeded" and run.steps.get(step_id="after").inputs == {"got": False}

    timing_out = [approval(timeout_seconds=0.5, on_timeout="approve"), then(reads="{{ steps.w.outputs.by }}")]
    run = wait_for_run(start(team, timing_out, slug="timing-out"), timeout=30)
    assert run.status == "succeeded", run.error
    outputs = run.steps.get(step_id="w").outputs
    assert (outputs["approved"], outputs["by"], outputs["comment"]) == (True, "", "timed out")


def test_a_cancelled_run_ends_its_waiting_step(workers, team):
    run = start(team, [approval(), then(reads="{{ steps.w.outputs.by }}")])
    step = waiting(run, "w")
    assert cancel_run(run)
    step.refresh_from_db()
    assert step.status == "cancelled"
    assert list(step.attempts.values_list("status", flat=True)) == ["cancelled"]


@pytest.mark.distributed
def test_an_approval_survives_a_restart_of_every_worker(workers, worker_processes, team, owner):
    run = start(team, [approval(), then(reads="{{ steps.w.outputs.by }}")])
    waiting(run, "w")
    worker_processes.stop("general")
    worker_processes.start("general", queues="default", concurrency=8)
    assert StepRun.objects.get(run=run, step_id="w").status == "waiting"
    answer = as_user(APIClient(), owner).post(f"/api/v1/runs/{run.pk}/steps/w/approve", {}, format="json")
    assert answer.status_code == 200, answer.content
    run = wait_for_run(run, timeout=30)
    assert run.status == "succeeded", run.error
