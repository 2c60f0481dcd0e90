"""Cancelling a run and its active steps."""

from django.db import transaction
from django.utils import timezone

from workflows.execution.models import Run, StepAttempt, StepRun
from workflows.execution.status import AttemptStatus, RunStatus
from workflows.execution.transitions.common import CANCEL, S
from workflows.metrics import rollups


def cancel(run_id: int) -> list[StepRun] | None:
    """Cancel the run and its active steps; returns the steps that were running (None: already final).

    The steps are locked before the run, in the order a step's outcome
    takes its rows (steps, then the run), so the two never deadlock; a
    child readied while this waited is locked and cancelled too.
    """
    now = timezone.now()
    with transaction.atomic():
        active = list(StepRun.objects.select_for_update().filter(run_id=run_id, status__in=CANCEL[0]).order_by("id"))
        if not Run.objects.filter(pk=run_id, status__in=RunStatus.ACTIVE).update(
            status=RunStatus.CANCELLED, finished=now, error="cancelled", unfinished=0
        ):
            return None
        # By status, not by the rows locked above: a deferred run's steps,
        # created while this waited for the run's lock, are cancelled too.
        StepRun.objects.filter(run_id=run_id, status__in=CANCEL[0]).update(
            status=CANCEL[1], finished=now, lease_expires=None
        )
        running = [step for step in active if step.status == S.RUNNING]
        held = [step for step in active if step.status in S.HELD]
        # A held attempt's row is written by whoever ends it: here, the cancel.
        StepAttempt.objects.bulk_create(
            [step.ended_attempt(AttemptStatus.CANCELLED, now, "cancelled") for step in held],
            ignore_conflicts=True,
        )
        rollups.run_finished(run_id)
    return running
