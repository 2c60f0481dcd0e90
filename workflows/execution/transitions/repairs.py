"""Recovery's queries and writes: dead workers' steps taken back, lost messages resent, stalled runs repaired."""

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from workflows.execution.messages import Advance, StepState
from workflows.execution.models import Run, StepAttempt, StepRun
from workflows.execution.plans import compiled_of, plan_of
from workflows.execution.status import AttemptStatus, RunStatus
from workflows.execution.transitions.common import (
    FAIL,
    TAKE_BACK,
    S,
    _count_off,
    _finish_run,
    _skip_below,
    message_of,
    unclaimed_after,
)
from workflows.execution.transitions.creating import _write_deferred_steps


def expired_leases(now, limit: int = 500) -> list[StepRun]:
    """Running steps whose worker stopped renewing the lease (presumed dead)."""
    return list(
        StepRun.objects.filter(status=S.RUNNING, lease_expires__lt=now)
        .select_related("run", "run__version")
        .order_by("lease_expires")[:limit]
    )


def take_back(row: StepRun, now, give_up: bool) -> Advance:
    """A dead worker's step: queued again (its attempt lost), or failed for good when `give_up`."""
    lost = f"worker {row.worker} stopped renewing its lease (presumed dead)"
    held = StepRun.objects.filter(pk=row.pk, status=S.RUNNING, attempt=row.attempt, lease_expires__lt=now)
    with transaction.atomic():
        if give_up:
            if not held.update(status=FAIL[1], error=lost, finished=now, lease_expires=None):
                return Advance.not_recorded()
            _lost_attempt(row, now, lost)
            skipped = _skip_below(row.run_id, plan_of(row.run), row.step_id, now)
            finished_run = _count_off(row.run_id, 1 + skipped, now)
            state = StepState(row.run_id, row.step_id, S.FAILED, row.attempt, row.worker, lost, finished=now)
            return Advance(recorded=True, finished_run=finished_run, changed=(state,), skipped_below=bool(skipped))
        if not held.update(status=TAKE_BACK[1], error=lost, enqueued=now, lease_expires=now + unclaimed_after()):
            return Advance.not_recorded()
        _lost_attempt(row, now, lost)
    state = StepState(row.run_id, row.step_id, S.QUEUED, row.attempt, error=lost, enqueued=now)
    return Advance(recorded=True, ready=(message_of(row),), changed=(state,))


def _lost_attempt(row: StepRun, now, error: str) -> None:
    StepAttempt.objects.bulk_create([row.ended_attempt(AttemptStatus.LOST, now, error)], ignore_conflicts=True)


def unclaimed(now, limit: int = 1000) -> list[StepRun]:
    """Queued steps due long enough ago that their message may be lost."""
    return list(
        StepRun.objects.filter(status__in=sorted(S.WAITING_FOR_WORKER), lease_expires__lt=now)
        .only("id", "run_id", "step_id", "component", "queue", "priority", "status", "lease_expires", "enqueued")
        .order_by("lease_expires")[:limit]
    )


def mark_resent(row: StepRun, now) -> bool:
    """Note that the step's message is sent again; False when something else moved it meanwhile."""
    return bool(
        StepRun.objects.filter(pk=row.pk, status=row.status, lease_expires=row.lease_expires).update(
            lease_expires=now + unclaimed_after()
        )
    )


def postpone_check(row: StepRun, now) -> None:
    """Its message is probably still in a busy queue: look again later."""
    StepRun.objects.filter(pk=row.pk, status=row.status, lease_expires=row.lease_expires).update(
        lease_expires=now + unclaimed_after()
    )


def resend_soon(step_run_ids) -> None:
    """Publishing failed (the broker is down): let the reaper resend these as soon as it can."""
    StepRun.objects.filter(pk__in=list(step_run_ids), status__in=sorted(S.WAITING_FOR_WORKER)).update(
        lease_expires=timezone.now()
    )


def stalled_runs(limit: int = 200) -> list[int]:
    """Active runs with no step queued, retrying, running or waiting: nothing will move them but a repair.

    With every transition in one transaction none should exist; a run
    started before the counters existed, or a bug, can leave one.
    """
    # A waiting step moves when what it waits for comes (its deadline is swept: waits.py).
    moving = StepRun.objects.filter(run_id=OuterRef("pk"), status__in=[S.QUEUED, S.RETRYING, S.RUNNING, S.WAITING])
    # A run whose steps are being created has none yet: stalled only once
    # the message creating them had a lease's time to be taken.
    being_created = Q(steps_created=False, created__gt=timezone.now() - unclaimed_after())
    return list(
        Run.objects.filter(status__in=RunStatus.ACTIVE)
        .exclude(being_created)
        .exclude(Exists(moving))
        .order_by("created")
        .values_list("pk", flat=True)[:limit]
    )


def repair_run(run_id: int, components: dict) -> Advance:
    """Recompute a run's readiness and counts from its steps' statuses (the truth) and act on them.

    Under the run row's lock, which every transition that ends a step also
    takes: the statuses read here can't change under the repair.
    """
    now = timezone.now()
    with transaction.atomic():
        run = Run.objects.select_for_update().select_related("version").filter(pk=run_id).first()
        if run is None or run.is_final:
            return Advance.not_recorded()
        version = compiled_of(run)
        plan = version.plan
        if not run.steps_created:  # the message that was to create them was lost
            return _write_deferred_steps(run, version, components)
        rows = {row.step_id: row for row in run.steps.all()}
        status = {step_id: row.status for step_id, row in rows.items()}
        ready, skipped = [], []
        for step_id in plan.order:  # parents before children: a skip reaches all the way down
            if status.get(step_id) != S.PENDING:
                continue
            parents = [status.get(parent) for parent in plan.parents[step_id]]
            if any(parent in S.FINAL and parent != S.SUCCEEDED for parent in parents):
                status[step_id] = S.SKIPPED
                skipped.append(step_id)
            elif all(parent == S.SUCCEEDED for parent in parents):
                status[step_id] = S.QUEUED
                ready.append(step_id)
        if skipped:
            StepRun.objects.filter(run_id=run_id, step_id__in=skipped, status=S.PENDING).update(
                status=S.SKIPPED, finished=now
            )
        if ready:
            StepRun.objects.filter(run_id=run_id, step_id__in=ready, status=S.PENDING).update(
                status=S.QUEUED, waiting=0, enqueued=now, lease_expires=now + unclaimed_after()
            )
        unfinished = sum(1 for state in status.values() if state not in S.FINAL)
        Run.objects.filter(pk=run_id).update(unfinished=unfinished)
        finished_run = _finish_run(run_id, now) if unfinished == 0 else None
    return Advance(
        recorded=bool(ready or skipped or finished_run),
        ready=tuple(message_of(rows[step_id]) for step_id in ready),
        finished_run=finished_run,
        skipped_below=bool(skipped),
    )
