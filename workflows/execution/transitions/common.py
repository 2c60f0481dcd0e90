"""What the transitions share: the checked changes, leases, SQL helpers, counting off and finishing a run.

Each constant names one allowed change of a step's status (status.py's table), checked when this
module loads: every other module of the package imports it, so none can write before the check ran.
"""

import json
import time
from datetime import timedelta

import psycopg
from django.conf import settings
from django.db import connection

from workflows.definitions.graph import Plan, descendants
from workflows.definitions.references import ReferenceError, resolve
from workflows.execution.messages import StepMessage
from workflows.execution.models import Run, StepRun
from workflows.execution.plans import compiled
from workflows.execution.status import RunStatus, StepStatus, check_step_transition
from workflows.metrics import rollups

S = StepStatus


def _transition(sources, target):
    check_step_transition(sources, target)
    return tuple(sources), target


CLAIM = _transition([S.QUEUED, S.RETRYING], S.RUNNING)
READY = _transition([S.PENDING], S.QUEUED)
CONTINUE = _transition([S.PENDING], S.RUNNING)
SUCCEED = _transition([S.RUNNING, S.WAITING], S.SUCCEEDED)
SKIP = _transition([S.RUNNING], S.SKIPPED)
SKIP_BELOW = _transition([S.PENDING], S.SKIPPED)
RETRY = _transition([S.RUNNING, S.WAITING], S.RETRYING)
FAIL = _transition([S.RUNNING, S.WAITING], S.FAILED)
WAIT = _transition([S.RUNNING], S.WAITING)
TAKE_BACK = _transition([S.RUNNING], S.QUEUED)
CANCEL = _transition(sorted(S.ACTIVE), S.CANCELLED)


def unclaimed_after() -> timedelta:
    """A queued step not claimed this long after it was due may have lost its message (recovery.py)."""
    return timedelta(seconds=settings.OAWEB_LEASE_SECONDS)


def lease() -> timedelta:
    return timedelta(seconds=settings.OAWEB_LEASE_SECONDS)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def fetch_rows(sql: str, params: dict) -> list[tuple]:
    """A statement's rows: prepared on PostgreSQL (fetch_prepared), through Django's cursor on SQLite."""
    if connection.vendor == "postgresql":
        return fetch_prepared(sql, params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def fetch_prepared(sql: str, params: dict) -> list[tuple]:
    """PostgreSQL: the rows of one of the step path's statements, run as a prepared statement.

    Django's cursors bind parameters on the client and never prepare (its
    default, kept for connection poolers in transaction mode, which oaweb
    doesn't use). The step path's statements run once per step or claim,
    and planning a success's data-modifying CTE took as long as running it
    (0.65 against 0.54 ms, EXPLAIN ANALYZE). A psycopg cursor that binds on
    the server, on Django's connection, plans each of them once per
    connection; Django still wraps its errors (connections.retrying sees
    them) and logs it when queries are logged.
    """
    connection.ensure_connection()
    started = time.monotonic()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        rows = cursor.fetchall()
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return rows


def _at(moment):
    return connection.ops.adapt_datetimefield_value(moment)


def _json(value):
    return StepRun._meta.get_field("outputs").get_db_prep_save(value, connection)


def _read_json(value):
    """A JSON column read through a raw cursor: text on SQLite (and psycopg as Django sets it up)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def message_of(row: StepRun, **fields) -> StepMessage:
    return StepMessage(step_run_id=row.pk, component=row.component, queue=row.queue, priority=row.priority, **fields)


RUN_LEFT_SQL = """
UPDATE {run} SET unfinished = unfinished - %(finals)s WHERE id = %(run)s RETURNING unfinished
"""


def _skip_below(run_id: int, plan: Plan, step_id: str, now) -> int:
    below = descendants(plan, step_id)
    if not below:
        return 0
    return StepRun.objects.filter(run_id=run_id, step_id__in=below, status__in=SKIP_BELOW[0]).update(
        status=SKIP_BELOW[1], finished=now
    )


def _count_off(run_id: int, finals: int, now) -> Run | None:
    """Lower the run's count of unfinished steps; finish it when this was the last. Inside the transaction."""
    with connection.cursor() as cursor:
        cursor.execute(RUN_LEFT_SQL.format(run=_table(Run)), {"finals": finals, "run": run_id})
        row = cursor.fetchone()
    if row is not None and row[0] == 0:
        return _finish_run(run_id, now)
    return None


# --- finishing a run -----------------------------------------------------------------


def _finish_run(run_id: int, now) -> Run | None:
    """Give the run its final status and outputs; inside the transaction that ended its last step.

    Returns the finished run (for its event), or None when it was already final.
    """
    run = (
        Run.objects.select_related("version")
        .only(
            "workflow_id", "status", "inputs", "error", "created", "started", "parent_step_id", "version__content_hash"
        )
        .get(pk=run_id)
    )
    if run.is_final:
        return None
    # The definition's steps only: a map's items are summed up by their map step.
    rows = run.steps.filter(map_step__isnull=True).values_list("step_id", "status", "outputs")
    steps = {step_id: (status, outputs) for step_id, status, outputs in rows}
    statuses = {status for status, _ in steps.values()}
    if S.FAILED in statuses:
        status = RunStatus.FAILED
    elif S.CANCELLED in statuses:
        status = RunStatus.CANCELLED
    else:
        status = RunStatus.SUCCEEDED
    error = ""
    mapping = compiled(run.version_id, run.version.content_hash).definition.get("outputs") or {}
    try:
        # Bounded as it is built, like a step's inputs: the mapping may repeat a large output many times.
        outputs = resolve(
            mapping,
            run.inputs,
            {step_id: out for step_id, (_, out) in steps.items()},
            missing="null",
            max_size=settings.OAWEB_MAX_INPUT_BYTES,
        )
    except ReferenceError as exc:
        outputs, status, error = None, RunStatus.FAILED, f"outputs: {exc}"
    if status == RunStatus.FAILED and not error:
        failed = sorted(step_id for step_id, (state, _) in steps.items() if state == S.FAILED)
        error = f"step{'s' if len(failed) > 1 else ''} failed: {', '.join(failed)}"
    changed = Run.objects.filter(pk=run_id, status__in=RunStatus.ACTIVE).update(
        status=status, outputs=outputs, error=error, finished=now, unfinished=0
    )
    if not changed:
        return None
    rollups.run_finished(run_id)  # counted once, in the transaction that finishes the run
    run.status, run.outputs, run.error, run.finished = status, outputs, error, now
    return run
