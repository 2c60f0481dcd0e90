"""A step that starts waiting (and lets its worker go), and the waiting step taken up to be ended."""

from workflows.execution.messages import Advance, ClaimedStep, StepState
from workflows.execution.models import StepRun
from workflows.execution.transitions.common import WAIT, S
from workflows.execution.wait_specs import Wait


def wait(claimed: ClaimedStep, inputs: dict, waiting_for: Wait) -> Advance:
    """The step waits: its inputs and its wait recorded, its lease dropped (no worker holds it now)."""
    changed = StepRun.objects.filter(pk=claimed.step_run_id, status__in=WAIT[0], attempt=claimed.attempt).update(
        status=WAIT[1], inputs=inputs, wait=waiting_for.as_json(), wait_until=waiting_for.until, lease_expires=None
    )
    if not changed:
        return Advance.not_recorded()
    return Advance(recorded=True, changed=(StepState.of_claimed(claimed, S.WAITING),))


def waiting_step(step_run_id: int) -> tuple[ClaimedStep, dict] | None:
    """The waiting step as its attempt holds it (to end it through succeed, fail or retry), and its inputs.

    Ending it is conditional on this attempt still holding it, as for a
    running step: two people approving at once end it once.
    """
    row = (
        StepRun.objects.select_related("run__version")
        .only(*WAITING_FIELDS, "run__inputs", "run__version_id", "run__version__content_hash")
        .filter(pk=step_run_id, status=S.WAITING)
        .first()
    )
    if row is None:
        return None
    claimed = ClaimedStep(
        step_run_id=row.pk,
        run_id=row.run_id,
        step_id=row.step_id,
        component=row.component,
        attempt=row.attempt,
        queue=row.queue,
        priority=row.priority,
        worker=row.worker,
        task_id="",
        started=row.started,
        run_inputs=row.run.inputs,
        version_id=row.run.version_id,
        version_hash=row.run.version.content_hash,
    )
    return claimed, row.inputs or {}


WAITING_FIELDS = ("run_id", "step_id", "component", "attempt", "queue", "priority", "worker", "started", "inputs")
