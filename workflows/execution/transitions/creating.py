"""Creating a run: the Run and its StepRuns, at once or deferred to a message of their own."""

from django.db import connection, transaction
from django.utils import timezone

from workflows.execution.messages import Advance, StepMessage
from workflows.execution.models import Run, StepRun
from workflows.execution.plans import Compiled, compiled, compiled_of, step_queue
from workflows.execution.transitions.common import S, _finish_run, _table, fetch_prepared, message_of, unclaimed_after

# PostgreSQL: a run's steps from arrays, in one prepared statement. The run's
# clock runs from its row's insert, and Django's bulk_create of a 185-step
# run's model instances took about 20 ms of it.
INSERT_STEPS_SQL = """
INSERT INTO {step} (run_id, step_id, component, component_version, status, waiting, attempt, error, queue, priority,
    worker, task_id, enqueued, lease_expires)
SELECT %(run)s, t.step_id, t.component, t.component_version, t.status, t.waiting, 0, '', t.queue, t.priority, '', '',
    t.enqueued, t.lease_expires
FROM unnest(%(step_ids)s::text[], %(components)s::text[], %(versions)s::text[], %(statuses)s::text[],
            %(waiting)s::integer[], %(queues)s::text[], %(priorities)s::integer[], %(enqueued)s::timestamptz[],
            %(leases)s::timestamptz[])
    AS t(step_id, component, component_version, status, waiting, queue, priority, enqueued, lease_expires)
RETURNING id, step_id, component, queue, priority, status
"""


def create_run(
    version,
    inputs: dict,
    components: dict,
    *,
    created_by,
    priority,
    trigger,
    rerun_of,
    reused,
    defer,
    parent_step_id=None,
    depth=0,
):
    """The Run and all its StepRuns in one transaction; returns (run, messages of the steps ready now).

    `reused`: {step id: StepRun} of an earlier run whose success this one
    keeps. `parent_step_id`, `depth`: a sub-workflow's child run. `defer`:
    write the run alone, `pending`, and leave its steps to create_deferred_steps
    (a large run must not hold its starter for seconds).
    """
    # A deferred run's count is set when its steps are (the plan is not even compiled here).
    steps = None if defer else compiled(version.pk, version.content_hash, version.definition)
    with transaction.atomic():
        run = Run.objects.create(
            workflow_id=version.workflow_id,
            version=version,
            inputs=inputs,
            priority=priority,
            trigger=trigger,
            created_by=created_by,
            rerun_of=rerun_of,
            steps_created=not defer,
            parent_step_id=parent_step_id,
            depth=depth,
            unfinished=0 if defer else len(steps.plan.order) - len(reused),
        )
        ready = [] if defer else _create_steps(run, steps, components, reused)
    return run, ready


def create_deferred_steps(run_id: int, components: dict) -> list[StepMessage]:
    """The StepRuns of a run started with `defer`, once (under the run row's lock); messages of the ready ones.

    Nothing when they exist already (a duplicate message, or the reaper
    came first) or the run was cancelled meanwhile.
    """
    with transaction.atomic():
        run = Run.objects.select_for_update().select_related("version").filter(pk=run_id).first()
        if run is None or run.steps_created or run.is_final:
            return []
        return list(_write_deferred_steps(run, compiled_of(run), components).ready)


def _write_deferred_steps(run: Run, version: Compiled, components: dict) -> Advance:
    """A deferred run's steps, under the run's lock: by its message, or by the reaper when that was lost."""
    reused = _reused_by(run)
    run.unfinished = len(version.plan.order) - len(reused)
    Run.objects.filter(pk=run.pk).update(steps_created=True, unfinished=run.unfinished)
    return Advance(recorded=True, ready=tuple(_create_steps(run, version, components, reused)))


def _reused_by(run: Run) -> dict:
    if run.rerun_of_id is None:
        return {}
    earlier = StepRun.objects.filter(run_id=run.rerun_of_id, status=S.SUCCEEDED, map_step__isnull=True)
    return {step.step_id: step for step in earlier}


def _create_steps(run: Run, version: Compiled, components: dict, reused: dict) -> list[StepMessage]:
    """Insert the run's StepRuns (inside the caller's transaction, `run.unfinished` set); the ready ones' messages."""
    now = timezone.now()
    plan = version.plan
    waiting = {step_id: sum(1 for parent in plan.parents[step_id] if parent not in reused) for step_id in plan.order}
    if connection.vendor == "postgresql" and not reused:
        return _insert_steps(run, version, components, waiting, now)
    rows = []
    for step_id in plan.order:
        fields = _step_fields(run, version, components, step_id)
        row = StepRun(run=run, step_id=step_id, waiting=waiting[step_id], **fields)
        if step_id in reused:
            source = reused[step_id]
            row.status, row.outputs, row.inputs, row.waiting = S.SUCCEEDED, source.outputs, source.inputs, 0
            row.started, row.finished, row.reused_from_id = source.started, source.finished, source.pk
            row.component_version = source.component_version
        elif waiting[step_id] == 0:
            row.status, row.enqueued, row.lease_expires = S.QUEUED, now, now + unclaimed_after()
        rows.append(row)
    StepRun.objects.bulk_create(rows, batch_size=2000)
    if run.unfinished == 0:
        _finish_run(run.pk, now)
    return [message_of(row) for row in rows if row.status == S.QUEUED]


def _step_fields(run: Run, version: Compiled, components: dict, step_id: str) -> dict:
    """What a new StepRun takes from its step's spec and its component."""
    step = version.spec.steps[step_id]
    info = components.get(step.component)
    return {
        "component": step.component,
        "component_version": info.version if info else "",
        "queue": step_queue(step, info),
        "priority": run.priority if step.priority is None else step.priority,
    }


def _insert_steps(run: Run, version: Compiled, components: dict, waiting: dict, now) -> list[StepMessage]:
    """_create_steps on PostgreSQL for a run that reuses nothing (one statement); the ready steps' messages."""
    fields = [_step_fields(run, version, components, step_id) for step_id in version.plan.order]
    ready = [waiting[step_id] == 0 for step_id in version.plan.order]
    params = {
        "step_ids": list(version.plan.order),
        "components": [row["component"] for row in fields],
        "versions": [row["component_version"] for row in fields],
        "queues": [row["queue"] for row in fields],
        "priorities": [row["priority"] for row in fields],
        "run": run.pk,
        "waiting": [waiting[step_id] for step_id in version.plan.order],
        "statuses": [S.QUEUED if first else S.PENDING for first in ready],
        "enqueued": [now if first else None for first in ready],
        "leases": [now + unclaimed_after() if first else None for first in ready],
    }
    rows = fetch_prepared(INSERT_STEPS_SQL.format(step=_table(StepRun)), params)
    if run.unfinished == 0:
        _finish_run(run.pk, now)
    return [
        StepMessage(step_run_id=pk, component=component, queue=queue, priority=priority)
        for pk, _, component, queue, priority, status in rows
        if status == S.QUEUED
    ]
