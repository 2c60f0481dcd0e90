"""Executing one step: claim it, resolve its inputs, call its component, record, advance.

Called by the Celery task (workflows/tasks.py). Every write is conditional on
this attempt still holding the step, so a duplicate or late delivery is
harmless; see engine.py for the statuses and recovery.py for lost workers.
"""

import json
import logging
import os
import socket
import threading
from datetime import timedelta

import fastjsonschema
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from registry import lookup
from registry.catalog import get_callable
from registry.context import StepContext
from workflows import call_threads, events
from workflows.conditions import ConditionError, evaluate_condition
from workflows.engine import (
    REQUEUE_AFTER,
    Compiled,
    compiled,
    enqueue_ready,
    maybe_finish_run,
    queued_step_runs,
    send_steps,
    skip_descendants,
)
from workflows.graph import Plan
from workflows.models import (
    ATTEMPT_FAILED,
    ATTEMPT_SUCCEEDED,
    RUN_PENDING,
    RUN_RUNNING,
    STEP_FAILED,
    STEP_PENDING,
    STEP_QUEUED,
    STEP_RETRYING,
    STEP_RUNNING,
    STEP_SKIPPED,
    STEP_SUCCEEDED,
    Run,
    StepAttempt,
    StepRun,
    WorkflowVersion,
)
from workflows.recovery import rebuild_run_state
from workflows.references import ReferenceError, resolve
from workflows.retry import RetryPolicy, retry_delay
from workflows.state import get_store

log = logging.getLogger(__name__)


class StepFailure(Exception):
    """A step's attempt failed; `retryable` is False when trying again can't help."""

    def __init__(self, message: str, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


_validators: dict[tuple, object] = {}


def schema_validator(info, which: str):
    """The compiled input or output schema of a component, once per registry generation.

    A compiled fastjsonschema validator also fills in the schema's defaults.
    """
    key = (which, info.name, info.version, lookup.generation())
    validator = _validators.get(key)
    if validator is None:
        if len(_validators) > 512:
            _validators.clear()
        schema = info.input_schema if which == "input" else info.output_schema
        validator = fastjsonschema.compile(schema or {})
        _validators[key] = validator
    return validator


# --- rate limits ---------------------------------------------------------------

RATE_UNITS = {"s": 1, "m": 60, "h": 3600}


def rate_interval(rate_limit: str) -> float | None:
    """Seconds between two calls for a Celery-style limit: "10/s", "100/m", "5/h", or "2" (per second)."""
    count, _, unit = rate_limit.strip().partition("/")
    try:
        per_unit = float(count)
    except ValueError:
        return None
    if per_unit <= 0 or (unit or "s") not in RATE_UNITS:
        return None
    return RATE_UNITS[unit or "s"] / per_unit


def rate_limit_wait(step_run_id: int, component: str) -> float:
    """Reserve this step's slot under its component's rate limit; seconds to wait for it (0: go).

    Limits hold across every worker (the slots live in the run-state store).
    A waiting step's deadline moves past its slot, so the reaper leaves it be.
    """
    info = lookup.get(component)
    interval = rate_interval(info.rate_limit) if info and info.rate_limit else None
    if interval is None:
        return 0.0
    wait = get_store().reserve_slot(f"rate:{component}", interval)
    if wait > 0:
        StepRun.objects.filter(pk=step_run_id, status__in=[STEP_QUEUED, STEP_RETRYING]).update(
            lease_expires=timezone.now() + timedelta(seconds=wait) + REQUEUE_AFTER
        )
    return wait


# --- executing one step --------------------------------------------------------


def worker_name() -> str:
    # Computed each time, not cached: a prefork child has its own pid.
    return f"{socket.gethostname()}:{os.getpid()}"


CLAIM_SQL = """
UPDATE {step} SET status = %s, attempt = attempt + 1, worker = %s, task_id = %s, started = %s, lease_expires = %s
WHERE id = %s AND (status IN (%s, %s) OR (status = %s AND lease_expires < %s))
RETURNING id, run_id, step_id, component, attempt, queue, priority,
    (SELECT inputs FROM {run} WHERE {run}.id = {step}.run_id),
    (SELECT status FROM {run} WHERE {run}.id = {step}.run_id),
    (SELECT version_id FROM {run} WHERE {run}.id = {step}.run_id),
    (SELECT content_hash FROM {version} WHERE {version}.id =
        (SELECT version_id FROM {run} WHERE {run}.id = {step}.run_id))
"""


def claim(step_run_id: int, worker: str, task_id: str) -> StepRun | None:
    """Take the step for this delivery: one statement, which also reads what the step needs of its run.

    None when another delivery holds it or it no longer waits (cancelled,
    finished). Raw SQL because the ORM can't UPDATE ... RETURNING; SQLite
    (3.35+) and PostgreSQL both run it. The attempt's row is written when
    the attempt ends (or by whoever takes the step away: cancel, the reaper).
    """
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    quote = connection.ops.quote_name
    sql = CLAIM_SQL.format(
        step=quote(StepRun._meta.db_table), run=quote(Run._meta.db_table), version=quote(WorkflowVersion._meta.db_table)
    )
    params = [
        STEP_RUNNING,
        worker,
        task_id,
        adapt(now),
        adapt(now + timedelta(seconds=settings.OAWEB_LEASE_SECONDS)),
        step_run_id,
        STEP_QUEUED,
        STEP_RETRYING,
        STEP_RUNNING,
        adapt(now),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    pk, run_id, step_id, component, attempt, queue, priority, inputs, run_status, version_id, version_hash = row
    run = Run(pk=run_id, inputs=_json(inputs), status=run_status, version_id=version_id)
    step_run = StepRun(
        pk=pk,
        run=run,
        step_id=step_id,
        component=component,
        attempt=attempt,
        queue=queue,
        priority=priority,
        status=STEP_RUNNING,
        worker=worker,
        task_id=task_id,
        started=now,
    )
    step_run.version_hash = version_hash
    if run_status == RUN_PENDING and Run.objects.filter(pk=run_id, status=RUN_PENDING).update(
        status=RUN_RUNNING, started=now
    ):
        run.status, run.started = RUN_RUNNING, now
        events.run_changed(run)
    return step_run


def outputs_of(run_id: int, step_ids) -> dict:
    """{step id: outputs} of these steps of the run.

    A plain statement: on this path the ORM's building of the query cost
    more than PostgreSQL's answering it.
    """
    step_ids = list(step_ids)
    table = connection.ops.quote_name(StepRun._meta.db_table)
    placeholders = ", ".join(["%s"] * len(step_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT step_id, outputs FROM {table} WHERE run_id = %s AND step_id IN ({placeholders})",
            [run_id, *step_ids],
        )
        return {step_id: _json(outputs) for step_id, outputs in cursor.fetchall()}


def _json(value):
    """A JSON column read through a raw cursor: text on SQLite (and psycopg as Django sets it up)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def execute_step(step_run_id: int, task_id: str = "", delay: float = 0.0, upstream: dict | None = None) -> None:
    """Run one step if this delivery wins the claim; record and advance.

    `upstream`: outputs of the steps this one reads, when its parent sent them
    along (see record_success); else they are read from the database.
    """
    from workflows.heartbeat import running_steps

    step_run = claim(step_run_id, worker_name(), task_id)
    if step_run is None:
        return  # a duplicate delivery, a cancelled run or a finished step
    step_run.delay = delay  # the backoff waited before this attempt, for its row
    events.step_changed(step_run)
    version = compiled(step_run.run.version_id, step_run.version_hash)
    plan = version.plan
    step = plan.steps[step_run.step_id]
    step_run.reads = version.reads[step_run.step_id]
    step_run.upstream = upstream
    context = StepContext(run_id=step_run.run_id, step_id=step_run.step_id, attempt=step_run.attempt)
    running_steps.add(step_run.pk, step_run.attempt, context)
    try:
        outcome = _attempt(step_run, step, plan, context)
    except StepFailure as failure:
        record_failure(step_run, plan, step, str(failure), failure.retryable)
    else:
        if outcome is SKIP:
            record_skip(step_run, plan)
        else:
            record_success(step_run, version, outcome)
    finally:
        running_steps.remove(step_run.pk)


SKIP = object()


def _attempt(step_run: StepRun, step: dict, plan: Plan, context: StepContext):
    """Resolve inputs, check `when`, call the component. Returns outputs or SKIP.

    The resolved inputs are left on `step_run.inputs`; the final update stores them.
    """
    run = step_run.run
    upstream = step_run.upstream
    if upstream is None or not step_run.reads <= upstream.keys():
        upstream = outputs_of(run.pk, step_run.reads) if step_run.reads else {}
    if step.get("when"):
        try:
            if not evaluate_condition(step["when"], run.inputs, upstream):
                return SKIP
        except (ConditionError, ReferenceError) as exc:
            raise StepFailure(f"when: {exc}", retryable=False) from exc
    try:
        step_run.inputs = resolve(step.get("inputs", {}), run.inputs, upstream)
    except ReferenceError as exc:
        raise StepFailure(f"inputs: {exc}", retryable=False) from exc
    info = lookup.usable(step_run.component)
    if info is None:
        raise StepFailure(f"component {step_run.component} is unknown or disabled", retryable=False)
    try:
        step_run.inputs = schema_validator(info, "input")(step_run.inputs)
    except fastjsonschema.JsonSchemaException as exc:
        raise StepFailure(f"inputs do not match {info.name}'s input schema: {exc.message}", retryable=False) from exc
    timeout = step.get("timeout") or info.timeout or settings.OAWEB_STEP_TIMEOUT
    function = get_callable(info.name, info.version, info.entrypoint, info.is_class)
    result = call_with_timeout(function, step_run.inputs, context, timeout, wants_context=_wants_context(info))
    outputs, step_run.outputs_bytes = check_outputs(info, result)
    return outputs


def _wants_context(info) -> bool:
    from registry.catalog import CATALOG

    spec = CATALOG.get(info.name)
    return bool(spec and spec.wants_context)


def call_with_timeout(function, inputs: dict, context: StepContext, timeout: float, wants_context: bool):
    """Call a component in a call thread and wait at most `timeout` seconds.

    A thread, not a signal, so it works in every pool (threads included). A
    component that ignores `context.stop` keeps its thread until it returns:
    Python can't kill a thread; the step has failed and moved on regardless.
    """
    box: dict = {}
    done = threading.Event()
    kwargs = {**inputs, "context": context} if wants_context else inputs

    def call():
        try:
            box["value"] = function(**kwargs)
        except BaseException as exc:  # reported as the step's error, never raised in the worker
            box["error"] = exc
        finally:
            connections.close_all()  # this thread's connections only
            done.set()

    call_threads.run(call)
    if not done.wait(timeout):
        context.stop.set()
        raise StepFailure(f"timed out after {timeout:g} s")
    if context.stop.is_set() and "error" in box:
        raise StepFailure("stopped: the run was cancelled", retryable=False)
    if "error" in box:
        error = box["error"]
        if isinstance(error, TypeError) and "argument" in str(error):
            raise StepFailure(f"bad inputs for the component: {error}", retryable=False)
        raise StepFailure(f"{type(error).__name__}: {error}")
    return box.get("value")


def check_outputs(info, result) -> tuple[dict, int]:
    """The outputs as the database will hold them (plain JSON), and their size in bytes of JSON."""
    if result is None:
        result = {}
    if not isinstance(result, dict):
        raise StepFailure(f"component returned {type(result).__name__}, expected an object of outputs")
    try:
        encoded = json.dumps(result)
    except (TypeError, ValueError) as exc:
        raise StepFailure(f"component returned outputs that are not JSON: {exc}") from exc
    if len(encoded) > settings.OAWEB_MAX_OUTPUT_BYTES:
        raise StepFailure(f"outputs are {len(encoded)} bytes, over the limit of {settings.OAWEB_MAX_OUTPUT_BYTES}")
    try:
        schema_validator(info, "output")(result)
    except fastjsonschema.JsonSchemaException as exc:
        raise StepFailure(f"outputs do not match the component's output schema: {exc.message}") from exc
    return json.loads(encoded), len(encoded)


# --- recording outcomes --------------------------------------------------------


def _mine(step_run: StepRun):
    """Rows still held by this attempt: a reaped or cancelled step is not ours any more.

    Whoever took it away wrote the attempt's row (cancelled, lost); when the
    update through this succeeds, the attempt's row is ours to write.
    """
    return StepRun.objects.filter(pk=step_run.pk, status=STEP_RUNNING, attempt=step_run.attempt)


def _record_attempt(step_run: StepRun, status: str, finished, error: str = "") -> None:
    step_run.ended_attempt(status, finished, error, delay=getattr(step_run, "delay", 0.0)).save()


# A child that reads only this step's outputs gets them in its task message
# when they are this small, as a Celery chain passes a result: one query
# less for it. Larger outputs stay out of the broker; the child reads them.
HANDOFF_MAX_BYTES = 8 * 1024


def record_success(step_run: StepRun, version: Compiled, outputs: dict) -> None:
    """Store the outputs and the attempt, and enqueue the children this made ready.

    A child whose only parent is this step is enqueued in the same
    transaction (chains and fan-outs need no more); a join goes through the
    run-state store's atomic counter after the commit.
    """
    now = timezone.now()
    plan = version.plan
    children = plan.children[step_run.step_id]
    only_child_of_this = [child for child in children if len(plan.parents[child]) == 1]
    joins = [child for child in children if len(plan.parents[child]) > 1]
    handoff = _handoff(step_run.step_id, outputs, step_run.outputs_bytes, only_child_of_this, version.reads)
    if connection.vendor == "postgresql":
        enqueued = _succeed_in_one_statement(step_run, outputs, now, only_child_of_this, handoff)
    else:
        enqueued = _succeed_in_one_transaction(step_run, outputs, now, only_child_of_this, handoff)
    if enqueued is None:
        return  # the step was taken away (cancelled, reaped) while it ran
    step_run.status, step_run.outputs, step_run.finished = STEP_SUCCEEDED, outputs, now
    events.step_changed(step_run)
    if joins:
        enqueued += advance_joins(step_run.run_id, step_run.step_id, joins)
    if not enqueued:
        # No child started (none, or all skipped because another parent was):
        # this may have been the run's last step.
        maybe_finish_run(step_run.run_id)


def _handoff(step_id: str, outputs: dict, outputs_bytes: int, children, reads) -> dict[str, dict]:
    """{child: the upstream outputs to send in its message} for the children that read only this step."""
    readers = [child for child in children if reads[child] and reads[child] <= {step_id}]
    if not readers or outputs_bytes > HANDOFF_MAX_BYTES:
        return {}
    return {child: {step_id: outputs} for child in readers}


def _succeed_in_one_transaction(step_run: StepRun, outputs: dict, now, only_child_of_this, handoff) -> int | None:
    """Outputs, the attempt's row and the children it readies; how many were enqueued, None if not ours."""
    with transaction.atomic():
        if not _mine(step_run).update(
            status=STEP_SUCCEEDED, inputs=step_run.inputs, outputs=outputs, error="", finished=now, lease_expires=None
        ):
            return None
        _record_attempt(step_run, ATTEMPT_SUCCEEDED, now)
        return enqueue_ready(step_run.run_id, only_child_of_this, upstream=handoff)


# The same three writes as one PostgreSQL statement (data-modifying CTEs):
# one round trip and one commit instead of five round trips. The attempt's
# row and the children depend on `done`, so nothing changes unless the step
# was still this attempt's. SQLite has no writes in WITH: it takes the
# transaction above.
SUCCEED_SQL = """
WITH done AS (
    UPDATE {step} SET status = %s, inputs = %s, outputs = %s, error = '', finished = %s, lease_expires = NULL
    WHERE id = %s AND status = %s AND attempt = %s
    RETURNING id
), attempt AS (
    INSERT INTO {attempt} (step_run_id, number, status, worker, error, started, finished, delay)
    SELECT id, %s, %s, %s, '', %s, %s, %s FROM done
), ready AS (
    UPDATE {step} SET status = %s, enqueued = %s, lease_expires = %s
    WHERE run_id = %s AND status = %s AND step_id = ANY(%s) AND EXISTS (SELECT FROM done)
    RETURNING id, step_id, component, queue, priority
)
SELECT (SELECT count(*) FROM done), ready.* FROM (SELECT 1) AS one LEFT JOIN ready ON true
"""


def _succeed_in_one_statement(step_run: StepRun, outputs: dict, now, only_child_of_this, handoff) -> int | None:
    adapt = connection.ops.adapt_datetimefield_value
    quote = connection.ops.quote_name
    json_field = StepRun._meta.get_field("outputs")
    sql = SUCCEED_SQL.format(step=quote(StepRun._meta.db_table), attempt=quote(StepAttempt._meta.db_table))
    params = [
        STEP_SUCCEEDED,
        json_field.get_db_prep_save(step_run.inputs, connection),
        json_field.get_db_prep_save(outputs, connection),
        adapt(now),
        step_run.pk,
        STEP_RUNNING,
        step_run.attempt,
        # the attempt's row
        step_run.attempt,
        ATTEMPT_SUCCEEDED,
        step_run.worker,
        adapt(step_run.started or now),
        adapt(now),
        getattr(step_run, "delay", 0.0),
        # the children this step alone was waiting for
        STEP_QUEUED,
        adapt(now),
        adapt(now + REQUEUE_AFTER),
        step_run.run_id,
        STEP_PENDING,
        list(only_child_of_this),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows[0][0]:
        return None
    ready = queued_step_runs(step_run.run_id, [row[1:] for row in rows if row[1] is not None], now, handoff)
    if ready:
        transaction.on_commit(lambda: send_steps(ready))
    return len(ready)


def record_skip(step_run: StepRun, plan: Plan) -> None:
    now = timezone.now()
    with transaction.atomic():
        if not _mine(step_run).update(status=STEP_SKIPPED, finished=now, lease_expires=None):
            return
        _record_attempt(step_run, ATTEMPT_SUCCEEDED, now, "skipped: `when` was false")
    step_run.status, step_run.finished = STEP_SKIPPED, now
    events.step_changed(step_run)
    skip_descendants(step_run.run, plan, step_run.step_id)
    maybe_finish_run(step_run.run_id)


def record_failure(step_run: StepRun, plan: Plan, step: dict, error: str, retryable: bool) -> None:
    now = timezone.now()
    info = lookup.get(step_run.component)
    policy = RetryPolicy.from_config(step.get("retry"), info.retry if info else None)
    if retryable and step_run.attempt < policy.max_attempts:
        wait = retry_delay(policy, step_run.attempt)
        deadline = now + timedelta(seconds=wait) + REQUEUE_AFTER
        with transaction.atomic():
            if not _mine(step_run).update(
                status=STEP_RETRYING, inputs=step_run.inputs, error=error, lease_expires=deadline
            ):
                return
            _record_attempt(step_run, ATTEMPT_FAILED, now, error)
        step_run.status, step_run.error = STEP_RETRYING, error
        send_steps([step_run], countdown=wait, delay=wait)
        return
    with transaction.atomic():
        if not _mine(step_run).update(
            status=STEP_FAILED, inputs=step_run.inputs, error=error, finished=now, lease_expires=None
        ):
            return
        _record_attempt(step_run, ATTEMPT_FAILED, now, error)
    step_run.status, step_run.error, step_run.finished = STEP_FAILED, error, now
    events.step_changed(step_run)
    skip_descendants(step_run.run, plan, step_run.step_id)
    maybe_finish_run(step_run.run_id)


def advance_joins(run_id: int, step_id: str, joins) -> int:
    """Count this parent off each join; enqueue the joins it was the last parent of.

    Returns how many steps this call enqueued.
    """
    store = get_store()
    ready = store.finish_step(run_id, step_id, joins)
    if ready is None:  # the hot state is gone: rebuild it, which also enqueues what is ready
        rebuild_run_state(run_id)
        ready = store.finish_step(run_id, step_id, joins) or []
    return enqueue_ready(run_id, ready)
