"""A step that starts waiting (and lets its worker go), and the waiting step taken up to be ended."""

from dataclasses import dataclass

from django.db import transaction

from workflows.definitions.references import Item
from workflows.execution.messages import Advance, ClaimedStep, StepState
from workflows.execution.models import PostedEvent, Run, StepRun
from workflows.execution.transitions.common import WAIT, S
from workflows.execution.transitions.creating import create_run
from workflows.execution.wait_specs import EVENT, Wait


def wait(claimed: ClaimedStep, inputs: dict, waiting_for: Wait, child: "Child | None" = None) -> Advance:
    """The step waits: its inputs and its wait recorded, its lease dropped (no worker holds it now).

    `child`: a sub-workflow step's child run, created in the same transaction
    (its ready steps are in the Advance, to publish); the wait names it.
    A wait for an event that was posted before: the event is taken for this
    step here (the wait names it) and comes back in the Advance, for the
    caller to end the step with at once.
    """
    delivered = None
    with transaction.atomic():
        mine = StepRun.objects.filter(pk=claimed.step_run_id, status__in=WAIT[0], attempt=claimed.attempt)
        if not mine.select_for_update().exists():
            return Advance.not_recorded()
        details, run, ready = waiting_for.as_json(), None, []
        if waiting_for.kind == EVENT:
            delivered = _take_posted(claimed, waiting_for.details["event"])
            if delivered is not None:
                details["posted"] = delivered.pk
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
        recorded=True,
        ready=tuple(ready),
        changed=(StepState.of_claimed(claimed, S.WAITING),),
        started_run=run,
        delivered=None if delivered is None else event_outputs(delivered),
    )


def _take_posted(claimed: ClaimedStep, name: str) -> PostedEvent | None:
    """The oldest event of this name posted to the run and not taken yet, taken for this step.

    Under the run row's lock, which posting an event takes too (waits.post_event):
    an event is either seen by this wait or it sees the step waiting, never neither.
    """
    list(Run.objects.select_for_update().filter(pk=claimed.run_id).values_list("pk", flat=True))
    posted = PostedEvent.objects.filter(run_id=claimed.run_id, name=name, taken_by__isnull=True).first()
    if posted is not None:
        PostedEvent.objects.filter(pk=posted.pk).update(taken_by_id=claimed.step_run_id)
    return posted


def event_outputs(posted: PostedEvent) -> dict:
    """A core.wait_for_event step's outputs, as for an event delivered while it waited."""
    return {"event": posted.name, "payload": posted.payload}


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
