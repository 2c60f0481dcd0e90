"""The execution engine: runs start, enqueue their steps, finish, are cancelled.

The engine is three modules: this one (a run as a whole), steps.py (one
step: claim, call, record, advance) and recovery.py (lost workers, lost
messages, lost hot state). There is no central loop. Each step is one Celery
task (workflows/tasks.py); a step that finishes enqueues the children it
made ready. Every state change is a conditional UPDATE that must change exactly
one row, so a duplicate or late delivery of a task is harmless:

* claim:    queued|retrying (or running with an expired lease) -> running
* complete: running with *my* attempt number -> succeeded | retrying | failed
* enqueue:  pending -> queued

The database is the truth; the run-state store (workflows/state.py) holds
dependency counters and is rebuilt from StepRun rows when it is lost.
The pure logic (graph, references, conditions, retry delays) lives in its
own modules and is tested without servers.
"""

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from registry import lookup
from workflows import events, rollups
from workflows.conditions import ConditionError, parse_condition
from workflows.graph import Plan, build_plan, descendants
from workflows.heartbeat import running_steps
from workflows.models import (
    ATTEMPT_CANCELLED,
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
from workflows.references import STEPS, ReferenceError, find_references, resolve
from workflows.state import StateUnavailable, get_store
from workflows.validation import validate_inputs

log = logging.getLogger(__name__)

# A queued step whose task hasn't started by then is presumed lost (broker
# flushed, enqueuer died between commit and send) and is sent again; a
# duplicate is harmless (the claim is conditional), so this only bounds how
# long a lost message can stall a run.
REQUEUE_AFTER = timedelta(seconds=120)
ACTIVE_STEP_STATUSES = [STEP_PENDING, STEP_QUEUED, STEP_RETRYING, STEP_RUNNING]


class RunRefused(Exception):
    """A run can't start: bad inputs, a disabled component, a final run to re-run."""

    def __init__(self, message: str, issues: list | None = None):
        super().__init__(message)
        self.issues = issues or []


# --- compiled versions ---------------------------------------------------------


@dataclass(frozen=True)
class Compiled:
    """What the step path needs from a version, parsed once per process."""

    version_id: int
    definition: dict
    plan: Plan
    # Per step, the steps whose outputs it reads (references in inputs and
    # `when`): only those are fetched, not every parent (depends_on only orders).
    reads: dict[str, frozenset[str]]


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
    plan = build_plan(definition)
    found = Compiled(version_id=version_id, definition=definition, plan=plan, reads=outputs_read(plan))
    with _compiled_lock:
        _compiled[key] = found
        while len(_compiled) > COMPILED_CACHE_SIZE:
            _compiled.popitem(last=False)
    return found


def outputs_read(plan: Plan) -> dict[str, frozenset[str]]:
    reads = {}
    for step_id, step in plan.steps.items():
        read = {reference.name for reference, _ in find_references(step.get("inputs")) if reference.source == STEPS}
        when = step.get("when")
        try:
            condition = parse_condition(when) if isinstance(when, str) else None
        except ConditionError:
            condition = None  # the step fails with the parse error when it runs
        if condition is not None:
            read.update(reference.name for reference in condition.references if reference.source == STEPS)
        reads[step_id] = frozenset(read)
    return reads


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
    first_step_calling = {}  # each component the run will call, once
    for step_id, step in plan.steps.items():
        if step_id not in reused:
            first_step_calling.setdefault(step["component"], step_id)
    for component, step_id in first_step_calling.items():
        if lookup.usable(component) is None:
            raise RunRefused(f"step {step_id}: component {component} is unknown or disabled")
    components = lookup.components()
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
        kwargs = {"component": step_run.component}
        if delay:
            kwargs["delay"] = delay
        if getattr(step_run, "upstream", None):
            kwargs["upstream"] = step_run.upstream
        execute_step.apply_async(
            args=[step_run.pk],
            kwargs=kwargs,
            queue=queue,
            # Redis priorities: 0 runs first; ours: 9 runs first.
            priority=9 - step_run.priority,
            countdown=countdown or None,
        )
        events.step_changed(step_run)


def enqueue_ready(run_id: int, step_ids, upstream: dict[str, dict] | None = None) -> int:
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
        ready = queued_step_runs(run_id, cursor.fetchall(), now, upstream)
        if ready:
            transaction.on_commit(lambda: send_steps(ready))
    return len(ready)


def queued_step_runs(run_id: int, rows, now, upstream: dict[str, dict] | None = None) -> list[StepRun]:
    """The steps an enqueueing UPDATE returned (`RETURNING id, step_id, component, queue, priority`).

    `upstream`: per step id, outputs its message carries (steps.record_success).
    """
    ready = []
    for pk, step_id, component, queue, priority in rows:
        step_run = StepRun(
            pk=pk,
            run_id=run_id,
            step_id=step_id,
            component=component,
            queue=queue,
            priority=priority,
            status=STEP_QUEUED,
            enqueued=now,
        )
        step_run.upstream = (upstream or {}).get(step_id)
        ready.append(step_run)
    return ready


def skip_descendants(run: Run, plan: Plan, step_id: str) -> None:
    below = descendants(plan, step_id)
    if below:
        StepRun.objects.filter(run_id=run.pk, step_id__in=below, status=STEP_PENDING).update(
            status=STEP_SKIPPED, finished=timezone.now()
        )
        events.steps_changed(run.pk)


def maybe_finish_run(run_id: int) -> None:
    """Finish the run once every step is final; exactly once, by a conditional UPDATE.

    Each finisher commits its own step before looking, so of two steps
    finishing together at least the later one sees both final.
    """
    if has_unfinished_steps(run_id):
        return
    run = (
        Run.objects.select_related("version")
        .only("workflow_id", "status", "inputs", "error", "created", "started", "version__content_hash")
        .get(pk=run_id)
    )
    if run.is_final:
        return
    steps = {
        step_id: (status, outputs) for step_id, status, outputs in run.steps.values_list("step_id", "status", "outputs")
    }
    statuses = {status for status, _ in steps.values()}
    status = RUN_FAILED if STEP_FAILED in statuses else RUN_CANCELLED if STEP_CANCELLED in statuses else RUN_SUCCEEDED
    error = ""
    mapping = compiled(run.version_id, run.version.content_hash).definition.get("outputs") or {}
    step_outputs = {step_id: outputs for step_id, (_, outputs) in steps.items()}
    try:
        outputs = resolve(mapping, run.inputs, step_outputs, missing="null")
    except ReferenceError as exc:
        outputs, status, error = None, RUN_FAILED, f"outputs: {exc}"
    if status == RUN_FAILED and not error:
        failed = sorted(step_id for step_id, (state, _) in steps.items() if state == STEP_FAILED)
        error = f"step{'s' if len(failed) > 1 else ''} failed: {', '.join(failed)}"
    now = timezone.now()
    # Metrics (issue 6): the run is noted for the rollups in the transaction that finishes it.
    with transaction.atomic():
        changed = Run.objects.filter(pk=run_id, status__in=[RUN_PENDING, RUN_RUNNING]).update(
            status=status, outputs=outputs, error=error, finished=now
        )
        if changed:
            rollups.run_finished(run_id)
    if changed:
        run.status, run.outputs, run.error, run.finished = status, outputs, error, now
        _drop_state(run_id)
        events.run_changed(run)


def has_unfinished_steps(run_id: int) -> bool:
    """Whether some step of the run isn't final yet.

    Asked after every step that enqueued nothing (each leaf of a fan-out):
    a plain statement, as the ORM's building of it cost more than its answer.
    """
    table = connection.ops.quote_name(StepRun._meta.db_table)
    placeholders = ", ".join(["%s"] * len(STEP_FINAL))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE run_id = %s AND status NOT IN ({placeholders}) LIMIT 1",
            [run_id, *STEP_FINAL],
        )
        return cursor.fetchone() is not None


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
        # Locked, so no step is claimed between this read and the update below.
        active = list(StepRun.objects.select_for_update().filter(run_id=run.pk, status__in=ACTIVE_STEP_STATUSES))
        running = [step for step in active if step.status == STEP_RUNNING]
        StepRun.objects.filter(run_id=run.pk, status__in=ACTIVE_STEP_STATUSES).update(
            status=STEP_CANCELLED, finished=now, lease_expires=None
        )
        # A running attempt's row is written by whoever ends it: here, the cancel.
        StepAttempt.objects.bulk_create(
            [step.ended_attempt(ATTEMPT_CANCELLED, now, "cancelled") for step in running], ignore_conflicts=True
        )
        rollups.run_finished(run.pk)  # metrics (issue 6): noted with the cancel, in its transaction
    running_tasks = [step.task_id for step in running if step.task_id]
    run.status, run.finished = RUN_CANCELLED, now
    # Running components see context.stop through their worker's heartbeat
    # (at once if they run in this process: embedded mode); revoking keeps
    # any redelivery of their tasks from starting them again.
    running_steps.stop([step.pk for step in running])
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
