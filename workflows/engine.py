"""The execution engine: start a run, execute one step, advance the graph.

There is no central loop. Each step is one Celery task (workflows/tasks.py
calls `execute_step`); a step that finishes enqueues the children it made
ready. Every state change is a conditional UPDATE that must change exactly
one row, so a duplicate or late delivery of a task is harmless:

* claim:    queued|retrying (or running with an expired lease) -> running
* complete: running with *my* attempt number -> succeeded | retrying | failed
* enqueue:  pending -> queued

The database is the truth; the run-state store (workflows/state.py) holds
dependency counters and is rebuilt from StepRun rows when it is lost.
The pure logic (graph, references, conditions, retry delays) lives in its
own modules and is tested without servers.
"""

import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta

import fastjsonschema
from django.conf import settings
from django.db import close_old_connections, connection, connections, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from registry import lookup
from registry.catalog import get_callable
from registry.context import StepContext
from workflows import events
from workflows.conditions import ConditionError, evaluate_condition
from workflows.graph import Plan, build_plan, descendants
from workflows.models import (
    ATTEMPT_CANCELLED,
    ATTEMPT_FAILED,
    ATTEMPT_LOST,
    ATTEMPT_RUNNING,
    ATTEMPT_SUCCEEDED,
    RUN_CANCELLED,
    RUN_FAILED,
    RUN_PENDING,
    RUN_RUNNING,
    RUN_SUCCEEDED,
    STEP_CANCELLED,
    STEP_FAILED,
    STEP_FINAL,
    STEP_PENDING,
    STEP_QUEUED,
    STEP_RETRYING,
    STEP_RUNNING,
    STEP_SKIPPED,
    STEP_SUCCEEDED,
    Run,
    StepAttempt,
    StepRun,
    Workflow,
    WorkflowVersion,
)
from workflows.references import ReferenceError, resolve
from workflows.retry import RetryPolicy, retry_delay
from workflows.state import StateUnavailable, get_store
from workflows.validation import validate_inputs

log = logging.getLogger(__name__)

# A queued step whose task hasn't started by then is presumed lost (broker
# flushed, enqueuer died between commit and send) and is sent again; a
# duplicate is harmless (the claim is conditional), so this only bounds how
# long a lost message can stall a run.
REQUEUE_AFTER = timedelta(seconds=120)
# A worker that died mid-step costs an attempt; past this many extra
# attempts a step that keeps killing its workers is failed for good.
LOST_ATTEMPTS_ALLOWED = 2
ACTIVE_STEP_STATUSES = [STEP_PENDING, STEP_QUEUED, STEP_RETRYING, STEP_RUNNING]


class RunRefused(Exception):
    """A run can't start: bad inputs, a disabled component, a final run to re-run."""

    def __init__(self, message: str, issues: list | None = None):
        super().__init__(message)
        self.issues = issues or []


class StepFailure(Exception):
    """A step's attempt failed; `retryable` is False when trying again can't help."""

    def __init__(self, message: str, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


# --- compiled versions ---------------------------------------------------------


@dataclass(frozen=True)
class Compiled:
    """What the step path needs from a version, parsed once per process."""

    version_id: int
    definition: dict
    plan: Plan


_compiled: OrderedDict[tuple[int, str], Compiled] = OrderedDict()
_compiled_lock = threading.Lock()
COMPILED_CACHE_SIZE = 512


def compiled(version_id: int, content_hash: str, definition: dict | None = None) -> Compiled:
    """The version's plan, built once per process (versions are immutable).

    Keyed by the content hash too: an id alone can come back with other
    content (SQLite reuses the ids of rolled-back rows).
    """
    key = (version_id, content_hash)
    with _compiled_lock:
        found = _compiled.get(key)
        if found is not None:
            _compiled.move_to_end(key)
            return found
    if definition is None:
        definition = WorkflowVersion.objects.values_list("definition", flat=True).get(pk=version_id)
    found = Compiled(version_id=version_id, definition=definition, plan=build_plan(definition))
    with _compiled_lock:
        _compiled[key] = found
        while len(_compiled) > COMPILED_CACHE_SIZE:
            _compiled.popitem(last=False)
    return found


_output_validators: dict[tuple[str, str], object] = {}


def output_validator(info):
    key = (info.name, info.version)
    validator = _output_validators.get(key)
    if validator is None:
        validator = fastjsonschema.compile(info.output_schema or {})
        _output_validators[key] = validator
    return validator


def joins_of(plan: Plan) -> list[str]:
    """Steps with more than one parent: only they need the store's counters."""
    return [step_id for step_id in plan.order if len(plan.parents[step_id]) > 1]


def plan_of(run: Run) -> Plan:
    """The plan of a run loaded with its version (select_related("version"))."""
    return compiled(run.version_id, run.version.content_hash, run.version.definition).plan


# --- starting ------------------------------------------------------------------


def start_run(target, inputs: dict | None = None, user=None, priority: int | None = None, trigger="manual") -> Run:
    """Check inputs, write the Run and its StepRuns in one transaction, enqueue the roots.

    `target` is a Workflow (its latest version) or a WorkflowVersion; the
    run is pinned to that version. Raises RunRefused (nothing written) or
    StateUnavailable (Redis down: nothing written).
    """
    version = target.latest_version() if isinstance(target, Workflow) else target
    if version is None:
        raise RunRefused(f"workflow {target} has no version")
    values, issues = validate_inputs(version.definition, inputs or {})
    if issues:
        raise RunRefused("; ".join(f"{issue['path'] or '/'}: {issue['message']}" for issue in issues), issues)
    return _create_run(version, values, user=user, priority=priority, trigger=trigger)


def rerun(run: Run, user=None) -> Run:
    """A new run of the same version and inputs that reuses the steps that succeeded."""
    if run.status not in (RUN_FAILED, RUN_CANCELLED):
        raise RunRefused(f"only a failed or cancelled run can be re-run; run {run.pk} is {run.status}")
    reused = {step.step_id: step for step in run.steps.filter(status=STEP_SUCCEEDED)}
    return _create_run(
        run.version, run.inputs, user=user, priority=run.priority, trigger="rerun", rerun_of=run, reused=reused
    )


def _create_run(version, inputs, user=None, priority=None, trigger="manual", rerun_of=None, reused=None) -> Run:
    reused = reused or {}
    plan = compiled(version.pk, version.content_hash, version.definition).plan
    components = lookup.components()
    for step_id, step in plan.steps.items():
        info = components.get(step["component"])
        if step_id not in reused and (info is None or not info.enabled):
            raise RunRefused(f"step {step_id}: component {step['component']} is unknown or disabled")
    store = get_store()
    store.ping()  # fail before writing anything when Redis is down
    run_priority = 5 if priority is None else priority
    waiting = {step_id: sum(1 for p in plan.parents[step_id] if p not in reused) for step_id in plan.order}
    now = timezone.now()
    with transaction.atomic():
        run = Run.objects.create(
            workflow_id=version.workflow_id,
            version=version,
            inputs=inputs,
            priority=run_priority,
            trigger=trigger,
            created_by=user if user is not None and user.is_authenticated else None,
            rerun_of=rerun_of,
        )
        rows = []
        for step_id in plan.order:
            step = plan.steps[step_id]
            info = components.get(step["component"])
            row = StepRun(
                run=run,
                step_id=step_id,
                component=step["component"],
                component_version=info.version if info else "",
                queue=step.get("queue") or (info.queue if info else "") or "default",
                priority=step.get("priority", run_priority),
            )
            if step_id in reused:
                source = reused[step_id]
                row.status, row.outputs, row.inputs = STEP_SUCCEEDED, source.outputs, source.inputs
                row.started, row.finished, row.reused_from_id = source.started, source.finished, source.pk
                row.component_version = source.component_version
            elif waiting[step_id] == 0:
                row.status, row.enqueued, row.lease_expires = STEP_QUEUED, now, now + REQUEUE_AFTER
            rows.append(row)
        StepRun.objects.bulk_create(rows)
        # Only joins need counters: a step with one parent is enqueued by that parent.
        store.init_run(run.pk, {step_id: waiting[step_id] for step_id in joins_of(plan)}, done=reused.keys())
        ready = [row for row in rows if row.status == STEP_QUEUED]
        transaction.on_commit(lambda: send_steps(ready))
    events.run_changed(run)
    return run


# --- sending tasks -------------------------------------------------------------


def send_steps(step_runs, countdown: float = 0, delay: float = 0) -> None:
    """Put a Celery task on the broker for each step run (already marked queued)."""
    from workflows.tasks import execute_step

    if settings.EMBEDDED:
        from workflows.embedded import ensure_embedded_worker

        ensure_embedded_worker()
    for step_run in step_runs:
        # One worker serves every queue in embedded mode; the step still
        # records the queue it would use when distributed.
        queue = settings.CELERY_TASK_DEFAULT_QUEUE if settings.EMBEDDED else step_run.queue
        execute_step.apply_async(
            args=[step_run.pk],
            kwargs={"component": step_run.component, **({"delay": delay} if delay else {})},
            queue=queue,
            # Redis priorities: 0 runs first; ours: 9 runs first.
            priority=9 - step_run.priority,
            countdown=countdown or None,
        )
        events.step_changed(step_run)


def enqueue_ready(run_id: int, step_ids) -> int:
    """pending -> queued for these steps, and send their tasks; exactly once per step.

    One UPDATE ... RETURNING: it both claims the rows and says which ones it
    claimed. Of two processes enqueueing the same join at once, the second
    waits for the first's row lock, then finds the step no longer pending.
    (Raw SQL because the ORM's update() can't return rows; SQLite >= 3.35
    and PostgreSQL both speak it.)
    """
    step_ids = list(step_ids)
    if not step_ids:
        return 0
    now = timezone.now()
    table = connection.ops.quote_name(StepRun._meta.db_table)
    placeholders = ", ".join(["%s"] * len(step_ids))
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, enqueued = %s, lease_expires = %s "
            f"WHERE run_id = %s AND status = %s AND step_id IN ({placeholders}) "
            "RETURNING id, step_id, component, queue, priority",
            [
                STEP_QUEUED,
                connection.ops.adapt_datetimefield_value(now),
                connection.ops.adapt_datetimefield_value(now + REQUEUE_AFTER),
                run_id,
                STEP_PENDING,
                *step_ids,
            ],
        )
        ready = [
            StepRun(
                pk=pk,
                run_id=run_id,
                step_id=step_id,
                component=component,
                queue=queue,
                priority=priority,
                status=STEP_QUEUED,
                enqueued=now,
            )
            for pk, step_id, component, queue, priority in cursor.fetchall()
        ]
        if ready:
            transaction.on_commit(lambda: send_steps(ready))
    return len(ready)


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
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def claim(step_run_id: int, worker: str, task_id: str, delay: float) -> tuple[StepRun, StepAttempt] | None:
    """Take the step for this delivery, in one transaction: the step, the run, the attempt row.

    None when another delivery holds it or it no longer waits (cancelled, finished).
    """
    now = timezone.now()
    claimable = Q(status__in=[STEP_QUEUED, STEP_RETRYING]) | Q(status=STEP_RUNNING, lease_expires__lt=now)
    with transaction.atomic():
        if not StepRun.objects.filter(claimable, pk=step_run_id).update(
            status=STEP_RUNNING,
            attempt=F("attempt") + 1,
            worker=worker,
            task_id=task_id,
            started=Coalesce(F("started"), Value(now)),
            lease_expires=now + timedelta(seconds=settings.OAWEB_LEASE_SECONDS),
        ):
            return None
        step_run = (
            StepRun.objects.select_related("run")
            .annotate(version_hash=F("run__version__content_hash"))
            .get(pk=step_run_id)
        )
        run = step_run.run
        if run.status == RUN_PENDING and Run.objects.filter(pk=run.pk, status=RUN_PENDING).update(
            status=RUN_RUNNING, started=now
        ):
            run.status, run.started = RUN_RUNNING, now
            events.run_changed(run)
        attempt = StepAttempt.objects.create(
            step_run=step_run, number=step_run.attempt, worker=worker, started=now, delay=delay
        )
    return step_run, attempt


def execute_step(step_run_id: int, task_id: str = "", delay: float = 0.0) -> None:
    """Run one step if this delivery wins the claim; record and advance."""
    from workflows.heartbeat import running_steps

    claimed = claim(step_run_id, worker_name(), task_id, delay)
    if claimed is None:
        return  # a duplicate delivery, a cancelled run or a finished step
    step_run, attempt = claimed
    events.step_changed(step_run)
    plan = compiled(step_run.run.version_id, step_run.version_hash).plan
    step = plan.steps[step_run.step_id]
    context = StepContext(run_id=step_run.run_id, step_id=step_run.step_id, attempt=step_run.attempt)
    running_steps.add(step_run.pk, step_run.attempt, context)
    try:
        outcome = _attempt(step_run, step, plan, context)
    except StepFailure as failure:
        record_failure(step_run, attempt, step, str(failure), failure.retryable)
    else:
        if outcome is SKIP:
            record_skip(step_run, attempt, plan)
        else:
            record_success(step_run, attempt, plan, outcome)
    finally:
        running_steps.remove(step_run.pk)


SKIP = object()


def _attempt(step_run: StepRun, step: dict, plan: Plan, context: StepContext):
    """Resolve inputs, check `when`, call the component. Returns outputs or SKIP.

    The resolved inputs are left on `step_run.inputs`; the final update stores them.
    """
    run = step_run.run
    parents = plan.parents[step_run.step_id]
    upstream = (
        dict(StepRun.objects.filter(run_id=run.pk, step_id__in=parents).values_list("step_id", "outputs"))
        if parents
        else {}
    )
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
    info = lookup.get(step_run.component)
    if info is None or not info.enabled:
        raise StepFailure(f"component {step_run.component} is unknown or disabled", retryable=False)
    timeout = step.get("timeout") or info.timeout or settings.OAWEB_STEP_TIMEOUT
    function = get_callable(info.name, info.version, info.entrypoint, info.is_class)
    result = call_with_timeout(function, step_run.inputs, context, timeout, wants_context=_wants_context(info))
    return check_outputs(info, result)


def _wants_context(info) -> bool:
    from registry.catalog import CATALOG

    spec = CATALOG.get(info.name)
    return bool(spec and spec.wants_context)


def call_with_timeout(function, inputs: dict, context: StepContext, timeout: float, wants_context: bool):
    """Call a component in its own thread and wait at most `timeout` seconds.

    A thread, not a signal, so it works in every pool (threads included). A
    component that ignores `context.stop` keeps its thread until it returns:
    Python can't kill a thread; the step has failed and moved on regardless.
    """
    box: dict = {}
    kwargs = {**inputs, "context": context} if wants_context else inputs

    def target():
        try:
            box["value"] = function(**kwargs)
        except BaseException as exc:  # reported as the step's error, never raised in the worker
            box["error"] = exc
        finally:
            connections.close_all()  # this thread's connections only

    thread = threading.Thread(target=target, name=f"step-{context.run_id}-{context.step_id}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
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


def check_outputs(info, result) -> dict:
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
        output_validator(info)(result)
    except fastjsonschema.JsonSchemaException as exc:
        raise StepFailure(f"outputs do not match the component's output schema: {exc.message}") from exc
    return json.loads(encoded)  # what the database will hold: plain JSON


# --- recording outcomes --------------------------------------------------------


def _mine(step_run: StepRun):
    """Rows still held by this attempt: a reaped or cancelled step is not ours any more."""
    return StepRun.objects.filter(pk=step_run.pk, status=STEP_RUNNING, attempt=step_run.attempt)


def record_success(step_run: StepRun, attempt: StepAttempt, plan: Plan, outputs: dict) -> None:
    """Store the outputs and enqueue the children this made ready.

    A child whose only parent is this step is enqueued in the same
    transaction (chains and fan-outs need no more); a join goes through the
    run-state store's atomic counter after the commit.
    """
    now = timezone.now()
    children = plan.children[step_run.step_id]
    only_child_of_this = [child for child in children if len(plan.parents[child]) == 1]
    joins = [child for child in children if len(plan.parents[child]) > 1]
    with transaction.atomic():
        if not _mine(step_run).update(
            status=STEP_SUCCEEDED, inputs=step_run.inputs, outputs=outputs, error="", finished=now, lease_expires=None
        ):
            _close_attempt(attempt, ATTEMPT_CANCELLED, "result discarded: the step was cancelled or taken over")
            return
        _close_attempt(attempt, ATTEMPT_SUCCEEDED)
        enqueued = enqueue_ready(step_run.run_id, only_child_of_this)
    step_run.status, step_run.outputs, step_run.finished = STEP_SUCCEEDED, outputs, now
    events.step_changed(step_run)
    if joins:
        enqueued += advance_joins(step_run.run_id, step_run.step_id, joins)
    if not enqueued:
        # No child started (none, or all skipped because another parent was):
        # this may have been the run's last step.
        maybe_finish_run(step_run.run_id)


def record_skip(step_run: StepRun, attempt: StepAttempt, plan: Plan) -> None:
    now = timezone.now()
    if not _mine(step_run).update(status=STEP_SKIPPED, finished=now, lease_expires=None):
        _close_attempt(attempt, ATTEMPT_CANCELLED, "result discarded: the step was cancelled or taken over")
        return
    _close_attempt(attempt, ATTEMPT_SUCCEEDED, "skipped: `when` was false")
    step_run.status, step_run.finished = STEP_SKIPPED, now
    events.step_changed(step_run)
    skip_descendants(step_run.run, plan, step_run.step_id)
    maybe_finish_run(step_run.run_id)


def record_failure(step_run: StepRun, attempt: StepAttempt, step: dict, error: str, retryable: bool) -> None:
    now = timezone.now()
    info = lookup.get(step_run.component)
    policy = RetryPolicy.from_config(step.get("retry"), info.retry if info else None)
    if retryable and step_run.attempt < policy.max_attempts:
        wait = retry_delay(policy, step_run.attempt)
        deadline = now + timedelta(seconds=wait) + REQUEUE_AFTER
        if not _mine(step_run).update(
            status=STEP_RETRYING, inputs=step_run.inputs, error=error, lease_expires=deadline
        ):
            _close_attempt(attempt, ATTEMPT_CANCELLED, error)
            return
        _close_attempt(attempt, ATTEMPT_FAILED, error)
        step_run.status, step_run.error = STEP_RETRYING, error
        send_steps([step_run], countdown=wait, delay=wait)
        return
    if not _mine(step_run).update(
        status=STEP_FAILED, inputs=step_run.inputs, error=error, finished=now, lease_expires=None
    ):
        _close_attempt(attempt, ATTEMPT_CANCELLED, error)
        return
    _close_attempt(attempt, ATTEMPT_FAILED, error)
    step_run.status, step_run.error, step_run.finished = STEP_FAILED, error, now
    events.step_changed(step_run)
    plan = plan_of(step_run.run)
    skip_descendants(step_run.run, plan, step_run.step_id)
    maybe_finish_run(step_run.run_id)


def _close_attempt(attempt: StepAttempt, status: str, error: str = "") -> None:
    StepAttempt.objects.filter(pk=attempt.pk, status=ATTEMPT_RUNNING).update(
        status=status, error=error, finished=timezone.now()
    )


def skip_descendants(run: Run, plan: Plan, step_id: str) -> None:
    below = descendants(plan, step_id)
    if below:
        StepRun.objects.filter(run_id=run.pk, step_id__in=below, status=STEP_PENDING).update(
            status=STEP_SKIPPED, finished=timezone.now()
        )
        events.steps_changed(run.pk)


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


def maybe_finish_run(run_id: int) -> None:
    """Finish the run once every step is final; exactly once, by a conditional UPDATE.

    Each finisher commits its own step before looking, so of two steps
    finishing together at least the later one sees both final.
    """
    if StepRun.objects.filter(run_id=run_id).exclude(status__in=STEP_FINAL).exists():
        return
    run = Run.objects.select_related("version").get(pk=run_id)
    if run.is_final:
        return
    steps = {
        step_id: (status, outputs) for step_id, status, outputs in run.steps.values_list("step_id", "status", "outputs")
    }
    statuses = {status for status, _ in steps.values()}
    status = RUN_FAILED if STEP_FAILED in statuses else RUN_CANCELLED if STEP_CANCELLED in statuses else RUN_SUCCEEDED
    error = ""
    mapping = run.version.definition.get("outputs") or {}
    step_outputs = {step_id: outputs for step_id, (_, outputs) in steps.items()}
    try:
        outputs = resolve(mapping, run.inputs, step_outputs, missing="null")
    except ReferenceError as exc:
        outputs, status, error = None, RUN_FAILED, f"outputs: {exc}"
    if status == RUN_FAILED and not error:
        failed = sorted(step_id for step_id, (state, _) in steps.items() if state == STEP_FAILED)
        error = f"step{'s' if len(failed) > 1 else ''} failed: {', '.join(failed)}"
    now = timezone.now()
    changed = Run.objects.filter(pk=run_id, status__in=[RUN_PENDING, RUN_RUNNING]).update(
        status=status, outputs=outputs, error=error, finished=now
    )
    if changed:
        run.status, run.outputs, run.error, run.finished = status, outputs, error, now
        _drop_state(run_id)
        events.run_changed(run)


def _drop_state(run_id: int) -> None:
    try:
        get_store().drop_run(run_id)
    except StateUnavailable:
        pass  # keys expire on their own


# --- control -------------------------------------------------------------------


def cancel_run(run: Run) -> bool:
    """Cancel a run: pending steps never start, running ones are told to stop.

    Returns False when the run had already finished.
    """
    now = timezone.now()
    with transaction.atomic():
        if not Run.objects.filter(pk=run.pk, status__in=[RUN_PENDING, RUN_RUNNING]).update(
            status=RUN_CANCELLED, finished=now, error="cancelled"
        ):
            return False
        running_tasks = list(
            StepRun.objects.filter(run_id=run.pk, status=STEP_RUNNING)
            .exclude(task_id="")
            .values_list("task_id", flat=True)
        )
        StepRun.objects.filter(run_id=run.pk, status__in=ACTIVE_STEP_STATUSES).update(
            status=STEP_CANCELLED, finished=now, lease_expires=None
        )
        StepAttempt.objects.filter(step_run__run_id=run.pk, status=ATTEMPT_RUNNING).update(
            status=ATTEMPT_CANCELLED, finished=now, error="cancelled"
        )
    run.status, run.finished = RUN_CANCELLED, now
    # Running components see context.stop through their worker's heartbeat;
    # revoking keeps any redelivery of their tasks from starting them again.
    if running_tasks and not settings.EMBEDDED:
        from oaweb.celery import app

        try:
            app.control.revoke(running_tasks)
        except Exception:  # the cancel is already recorded; revoke is best effort
            log.warning("revoking tasks of run %s failed", run.pk, exc_info=True)
    _drop_state(run.pk)
    events.run_changed(run)
    events.steps_changed(run.pk)
    return True


def wait_for_run(run: Run, timeout: float = 600.0, poll: float = 0.05) -> Run:
    """Block until the run is final (CLI --wait, tests); returns it refreshed."""
    deadline = time.monotonic() + timeout
    while True:
        run.refresh_from_db()
        if run.is_final or time.monotonic() > deadline:
            return run
        close_old_connections()
        time.sleep(poll)


# --- recovery ------------------------------------------------------------------


def rebuild_run_state(run_id: int) -> None:
    """Recreate a run's counters from its StepRun rows, then resend what waits.

    Used when Redis lost the run's keys (FLUSHALL, restart, failover): the
    queued steps' broker messages may be gone too, so they are sent again.
    """
    store = get_store()
    with store.lock(f"rebuild:{run_id}", ttl=30) as acquired:
        if not acquired:
            time.sleep(0.05)  # another process is rebuilding; its result will be there
            return
        if store.has_run(run_id):
            return
        run = Run.objects.select_related("version").get(pk=run_id)
        if run.is_final:
            return
        plan = plan_of(run)
        rows = list(run.steps.all())
        status = {row.step_id: row.status for row in rows}
        done = {step_id for step_id, state in status.items() if state in STEP_FINAL}
        waiting = {step_id: sum(1 for p in plan.parents[step_id] if p not in done) for step_id in joins_of(plan)}
        store.init_run(run_id, waiting, done=done)
        log.warning("run %s: hot state rebuilt from the database", run_id)
    if not settings.EMBEDDED:
        # Whatever emptied Redis took the broker's queue bindings too: without
        # them kombu silently drops what is published to those queues.
        declare_queues({row.queue for row in rows})
    ready = [
        step_id
        for step_id, state in status.items()
        if state == STEP_PENDING and all(status[p] == STEP_SUCCEEDED for p in plan.parents[step_id])
    ]
    enqueue_ready(run_id, ready)
    send_steps([row for row in rows if row.status in (STEP_QUEUED, STEP_RETRYING)])


def reap() -> None:
    """Put back steps whose worker died, resend lost messages, rebuild lost state.

    Every worker runs this periodically; a lock lets one do it at a time.
    """
    store = get_store()
    with store.lock("reaper", ttl=max(1, settings.OAWEB_REAPER_SECONDS)) as acquired:
        if not acquired:
            return
        now = timezone.now()
        expired = StepRun.objects.filter(status=STEP_RUNNING, lease_expires__lt=now)
        for row in expired.select_related("run", "run__version"):
            requeue_lost_step(row, now)
        for row in StepRun.objects.filter(status__in=[STEP_QUEUED, STEP_RETRYING], lease_expires__lt=now):
            if StepRun.objects.filter(pk=row.pk, status=row.status, lease_expires=row.lease_expires).update(
                lease_expires=now + REQUEUE_AFTER
            ):
                send_steps([row])
        for run_id in Run.objects.filter(status__in=[RUN_PENDING, RUN_RUNNING]).values_list("pk", flat=True):
            if not store.has_run(run_id):
                rebuild_run_state(run_id)


def requeue_lost_step(row: StepRun, now) -> None:
    plan = plan_of(row.run)
    step = plan.steps[row.step_id]
    info = lookup.get(row.component)
    policy = RetryPolicy.from_config(step.get("retry"), info.retry if info else None)
    lost = f"worker {row.worker} stopped renewing its lease (presumed dead)"
    held = StepRun.objects.filter(pk=row.pk, status=STEP_RUNNING, attempt=row.attempt, lease_expires__lt=now)
    if row.attempt >= policy.max_attempts + LOST_ATTEMPTS_ALLOWED:
        if held.update(status=STEP_FAILED, error=lost, finished=now, lease_expires=None):
            StepAttempt.objects.filter(step_run=row, number=row.attempt).update(
                status=ATTEMPT_LOST, finished=now, error=lost
            )
            skip_descendants(row.run, plan, row.step_id)
            maybe_finish_run(row.run_id)
        return
    if held.update(status=STEP_QUEUED, error=lost, enqueued=now, lease_expires=now + REQUEUE_AFTER):
        StepAttempt.objects.filter(step_run=row, number=row.attempt).update(
            status=ATTEMPT_LOST, finished=now, error=lost
        )
        log.warning("step %s of run %s: %s; sent again", row.step_id, row.run_id, lost)
        send_steps([row])


def declare_queues(names) -> None:
    """(Re)declare Celery's queues and their bindings on the broker."""
    from kombu import Exchange, Queue

    from oaweb.celery import app

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for name in names:
            # The same queue Celery declares for a queue name it wasn't told about.
            Queue(name, Exchange(name), routing_key=name)(channel).declare()
