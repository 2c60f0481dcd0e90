"""A step that starts waiting (and lets its worker go), and the waiting step taken up to be ended."""

from dataclasses import dataclass

from django.db import transaction

from workflows.definitions.references import Item
from workflows.execution.messages import Advance, ClaimedStep, StepState
from workflows.execution.models import StepRun
from workflows.execution.transitions.common import WAIT, S
from workflows.execution.transitions.creating import create_run
from workflows.execution.wait_specs import Wait


def wait(claimed: ClaimedStep, inputs: dict, waiting_for: Wait, child: "Child | None" = None) -> Advance:
    """The step waits: its inputs and its wait recorded, its lease dropped (no worker holds it now).

    `child`: a sub-workflow step's child run, created in the same transaction
    (its ready steps are in the Advance, to publish); the wait names it.
    """
    with transaction.atomic():
        mine = StepRun.objects.filter(pk=claimed.step_run_id, status__in=WAIT[0], attempt=claimed.attempt)
        if not mine.select_for_update().exists():
            return Advance.not_recorded()
        details, run, ready = waiting_for.as_json(), None, []
        if child is not None:
            run, ready = create_run(
                child.version,
                child.inputs,
                child.components,
                created_by=None,
                priority=child.priority,
                trigger="workflow",
                rerun_of=None,
                reused={},
                defer=False,
                parent_step_id=claimed.step_run_id,
                depth=child.depth,
            )
            details["run"] = run.pk
        mine.update(status=WAIT[1], inputs=inputs, wait=details, wait_until=waiting_for.until, lease_expires=None)
    return Advance(
        recorded=True, ready=tuple(ready), changed=(StepState.of_claimed(claimed, S.WAITING),), started_run=run
    )


@dataclass(frozen=True)
class Child:
    """A sub-workflow step's child run to create: the version, its checked inputs, and where it sits."""

    version: object  # WorkflowVersion
    inputs: dict
    components: dict
    priority: int
    depth: int


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
        map_step_run_id=row.map_step_id,
        item=None if row.map_step_id is None else Item(row.item, row.item_index),
    )
    return claimed, row.inputs or {}


WAITING_FIELDS = (
    "run_id",
    "step_id",
    "component",
    "attempt",
    "queue",
    "priority",
    "worker",
    "started",
    "inputs",
    "map_step_id",
    "item_index",
    "item",
)
