"""Claiming a step for a delivery, and starting its run with the first claim."""

from datetime import datetime

from django.db import connection
from django.utils import timezone

from workflows.definitions.references import Item
from workflows.execution.messages import ClaimedStep
from workflows.execution.models import Run, StepRun
from workflows.execution.status import RunStatus, StepStatus
from workflows.execution.transitions.common import CLAIM, _at, _read_json, _table, fetch_prepared, lease
from workflows.models import WorkflowVersion

CLAIM_SQL = """
UPDATE {step} SET status = %s, attempt = attempt + 1, worker = %s, task_id = %s, started = %s, lease_expires = %s
WHERE id = %s AND status IN (%s, %s)
RETURNING id, run_id, step_id, component, attempt, queue, priority, map_step_id, item_index, item,
    (SELECT inputs FROM {run} WHERE {run}.id = {step}.run_id),
    (SELECT status FROM {run} WHERE {run}.id = {step}.run_id),
    (SELECT version_id FROM {run} WHERE {run}.id = {step}.run_id),
    (SELECT content_hash FROM {version} WHERE {version}.id =
        (SELECT version_id FROM {run} WHERE {run}.id = {step}.run_id))
"""


# PostgreSQL: the claim and, with the run's first claim, the run's start in ONE
# statement. The SELECT sees the run as it was before `started` changed it.
CLAIM_AND_START_SQL = """
WITH claimed AS (
    UPDATE {step} SET status = %(running)s, attempt = attempt + 1, worker = %(worker)s, task_id = %(task)s,
        started = %(now)s, lease_expires = %(lease)s
    WHERE id = %(id)s AND status IN (%(queued)s, %(retrying)s)
    RETURNING id, run_id, step_id, component, attempt, queue, priority, map_step_id, item_index, item
), started AS (
    UPDATE {run} SET status = %(run_running)s, started = %(now)s
    FROM claimed WHERE {run}.id = claimed.run_id AND {run}.status = %(run_pending)s
    RETURNING {run}.id
)
SELECT claimed.*, r.inputs, r.status, r.version_id, v.content_hash, r.workflow_id, r.created,
    EXISTS (SELECT FROM started)
FROM claimed JOIN {run} r ON r.id = claimed.run_id JOIN {version} v ON v.id = r.version_id
"""


def claim(step_run_id: int, worker: str, task_id: str, delay: float = 0.0) -> tuple[ClaimedStep, Run | None] | None:
    """Take the step for this delivery: one statement, which also reads what the step needs of its run.

    Returns (the claimed step, the run if this claim started it), or None
    when another delivery holds it or it no longer waits (cancelled,
    finished). The run comes back as an unsaved copy with the fields its
    live event shows: no query to read it. The lease is renewed by this
    worker's heartbeat; the attempt's row is written when the attempt ends.
    """
    now = timezone.now()
    # A running step whose lease ran out is not claimed here: the reaper
    # takes it back first (transitions.take_back), writing its lost attempt.
    queued, retrying = CLAIM[0]
    if connection.vendor == "postgresql":
        row = _claim_and_start(step_run_id, worker, task_id, now)
        if row is None:
            return None
        *row, workflow_id, created, started_run = row
    else:
        sql = CLAIM_SQL.format(step=_table(StepRun), run=_table(Run), version=_table(WorkflowVersion))
        params = [CLAIM[1], worker, task_id, _at(now), _at(now + lease()), step_run_id, queued, retrying]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        workflow_id = created = None
        started_run = row[11] == RunStatus.PENDING and _start_run(row[1], now)
    claimed = _claimed_of(row, worker, task_id, now, delay)
    if not started_run:
        return claimed, None
    if workflow_id is None:
        return claimed, Run.objects.get(pk=claimed.run_id)
    run = Run(pk=claimed.run_id, workflow_id=workflow_id, status=RunStatus.RUNNING, created=created, started=now)
    return claimed, run


def _claim_and_start(step_run_id: int, worker: str, task_id: str, now: datetime):
    sql = CLAIM_AND_START_SQL.format(step=_table(StepRun), run=_table(Run), version=_table(WorkflowVersion))
    queued, retrying = CLAIM[0]
    params = {
        "id": step_run_id,
        "running": CLAIM[1],
        "worker": worker,
        "task": task_id,
        "now": _at(now),
        "lease": _at(now + lease()),
        "queued": queued,
        "retrying": retrying,
        "run_running": RunStatus.RUNNING,
        "run_pending": RunStatus.PENDING,
    }
    rows = fetch_prepared(sql, params)
    return rows[0] if rows else None


def _claimed_of(row, worker: str, task_id: str, now: datetime, delay: float) -> ClaimedStep:
    (
        pk,
        run_id,
        step_id,
        component,
        attempt,
        queue,
        priority,
        map_step_id,
        index,
        item,
        inputs,
        _,
        version_id,
        version_hash,
    ) = row
    return ClaimedStep(
        step_run_id=pk,
        run_id=run_id,
        step_id=step_id,
        component=component,
        attempt=attempt,
        queue=queue,
        priority=priority,
        worker=worker,
        task_id=task_id,
        started=now,
        run_inputs=_read_json(inputs),
        version_id=version_id,
        version_hash=version_hash,
        delay=delay,
        map_step_run_id=map_step_id,
        item=None if map_step_id is None else Item(_read_json(item), index),
    )


def _start_run(run_id: int, now) -> bool:
    return bool(Run.objects.filter(pk=run_id, status=RunStatus.PENDING).update(status=RunStatus.RUNNING, started=now))


def still_held(claims) -> set[int]:
    """The step run ids of these claims that still hold their steps (not cancelled, finished or taken back since)."""
    attempts = {claimed.step_run_id: claimed.attempt for claimed in claims}
    rows = StepRun.objects.filter(pk__in=list(attempts), status=StepStatus.RUNNING).values_list("pk", "attempt")
    return {pk for pk, attempt in rows if attempts[pk] == attempt}
