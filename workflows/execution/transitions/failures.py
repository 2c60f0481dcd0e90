"""The other outcomes of an attempt: skipped (`when` was false), failed for good, or retried later."""

from dataclasses import replace
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from workflows.definitions.graph import Plan
from workflows.execution.messages import Advance, ClaimedStep, StepMessage, StepState
from workflows.execution.models import StepAttempt, StepRun
from workflows.execution.plans import compiled
from workflows.execution.status import AttemptStatus
from workflows.execution.transitions.common import (
    FAIL,
    RETRY,
    SKIP,
    S,
    _count_off,
    _finish_run,
    _skip_below,
    unclaimed_after,
)
from workflows.execution.transitions.mapping import allows_failures, fail_map, lock_maps
from workflows.execution.transitions.successes import items_ended


def skip(claimed: ClaimedStep, plan: Plan) -> Advance:
    """`when` was false: the step and everything below it are skipped."""
    return _end_for_good(claimed, plan, SKIP[1], AttemptStatus.SUCCEEDED, "skipped: `when` was false", inputs=None)


def fail(claimed: ClaimedStep, plan: Plan, inputs, error: str, log: str = "") -> Advance:
    """The last attempt failed: the step fails, everything below it is skipped. `log`: the attempt's log."""
    return _end_for_good(claimed, plan, FAIL[1], AttemptStatus.FAILED, error, inputs=inputs, log=log)


def _end_for_good(claimed, plan, status, attempt_status, error, inputs, log="") -> Advance:
    now = timezone.now()
    fields = {"status": status, "finished": now, "lease_expires": None}
    if status == S.FAILED:
        fields.update(inputs=inputs, error=error)
    with transaction.atomic():
        if claimed.map_step_run_id:
            lock_maps([claimed.map_step_run_id])
        if not _mine(claimed).update(**fields):
            return Advance.not_recorded()
        _attempt_row(claimed, attempt_status, now, error, log)
        skipped = _skip_below(claimed.run_id, plan, claimed.step_id, now)
        finished_run = _count_off(claimed.run_id, 1 + skipped, now)
        state = StepState.of_claimed(claimed, status, finished=now, error=error if status == S.FAILED else "")
        if claimed.map_step_run_id:
            return _item_failed(claimed, plan, error, now, state)
    return Advance(recorded=True, finished_run=finished_run, changed=(state,), skipped_below=bool(skipped))


def _item_failed(claimed: ClaimedStep, plan: Plan, error: str, now, state: StepState) -> Advance:
    """A map's item failed for good: one item less to wait for (allow_failures), or the map fails."""
    if not allows_failures(claimed.map_step_run_id):
        map_failed = fail_map(claimed, error, plan, now)
        return replace(map_failed, changed=(state, *map_failed.changed))
    version = compiled(claimed.version_id, claimed.version_hash)
    items = items_ended([claimed], version, now)
    finished_run = _finish_run(claimed.run_id, now) if items.unfinished == 0 else None
    return Advance(recorded=True, ready=items.ready, finished_run=finished_run, changed=(state, *items.changed))


def retry(claimed: ClaimedStep, inputs, error: str, wait: float, log: str = "") -> Advance:
    """The attempt failed and another is allowed after `wait` seconds: the step waits, queued for it."""
    now = timezone.now()
    due = now + timedelta(seconds=wait)
    with transaction.atomic():
        if not _mine(claimed).update(
            status=RETRY[1], inputs=inputs, error=error, enqueued=due, lease_expires=due + unclaimed_after()
        ):
            return Advance.not_recorded()
        _attempt_row(claimed, AttemptStatus.FAILED, now, error, log)
    message = StepMessage(
        claimed.step_run_id, claimed.component, claimed.queue, claimed.priority, delay=wait, countdown=wait
    )
    state = StepState.of_claimed(claimed, S.RETRYING, error=error)
    return Advance(recorded=True, ready=(message,), changed=(state,))


def _mine(claimed: ClaimedStep):
    """The step's row while this attempt still holds it: a reaped or cancelled step is not ours any more.

    Whoever took it away wrote the attempt's row (cancelled, lost).
    """
    return StepRun.objects.filter(pk=claimed.step_run_id, status__in=S.HELD, attempt=claimed.attempt)


def _attempt_row(claimed: ClaimedStep, status: str, now, error: str = "", log: str = "") -> None:
    StepAttempt.objects.create(
        step_run_id=claimed.step_run_id,
        number=claimed.attempt,
        status=status,
        worker=claimed.worker,
        error=error,
        started=claimed.started,
        finished=now,
        delay=claimed.delay,
        log=log,
    )
