"""Claiming a step for a delivery, and starting its run with the first claim."""

from django.db import connection
from django.utils import timezone

from workflows.execution.messages import ClaimedStep
from workflows.execution.models import Run, StepRun
from workflows.execution.status import RunStatus
from workflows.execution.transitions.common import CLAIM, _at, _read_json, _table, lease
from workflows.models import WorkflowVersion

CLAIM_SQL = """
UPDATE {step} SET status = %s, attempt = attempt + 1, worker = %s, task_id = %s, started = %s, lease_expires = %s
WHERE id = %s AND status IN (%s, %s)
RETURNING id, run_id, step_id, component, attempt, queue, priority,
    (SELECT inputs FROM {run} WHERE {run}.id = {step}.run_id),
    (SELECT status FROM {run} WHERE {run}.id = {step}.run_id),
    (SELECT version_id FROM {run} WHERE {run}.id = {step}.run_id),
    (SELECT content_hash FROM {version} WHERE {version}.id =
        (SELECT version_id FROM {run} WHERE {run}.id = {step}.run_id))
"""


def claim(step_run_id: int, worker: str, task_id: str, delay: float = 0.0) -> tuple[ClaimedStep, bool] | None:
    """Take the step for this delivery: one statement, which also reads what the step needs of its run.

    Returns (the claimed step, whether this claim started the run), or None
    when another delivery holds it or it no longer waits (cancelled,
    finished). The lease is renewed by this worker's heartbeat; the
    attempt's row is written when the attempt ends.
    """
    now = timezone.now()
    sql = CLAIM_SQL.format(step=_table(StepRun), run=_table(Run), version=_table(WorkflowVersion))
    # A running step whose lease ran out is not claimed here: the reaper
    # takes it back first (transitions.take_back), writing its lost attempt.
    queued, retrying = CLAIM[0]
    params = [CLAIM[1], worker, task_id, _at(now), _at(now + lease()), step_run_id, queued, retrying]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    pk, run_id, step_id, component, attempt, queue, priority, inputs, run_status, version_id, version_hash = row
    claimed = ClaimedStep(
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
    )
    return claimed, run_status == RunStatus.PENDING and _start_run(run_id, now)


def _start_run(run_id: int, now) -> bool:
    return bool(Run.objects.filter(pk=run_id, status=RunStatus.PENDING).update(status=RunStatus.RUNNING, started=now))
