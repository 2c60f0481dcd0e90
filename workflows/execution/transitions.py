"""Every status change of runs, steps and attempts, and all of their SQL.

Each transition is decided in ONE database transaction: a step's outcome,
its attempt's row, which children became ready (each child counts its
parents down in `StepRun.waiting`), the descendants a failure skips, and,
when it was the last, the run's finish (`Run.unfinished` counts down in the
same transaction, under the run row's lock). Nothing that happens after the
commit (publishing, events) can leave a run unfinished: a step that is ready
is `queued` in the database before any message exists, and the reaper
resends what nobody holds (recovery.py).

Every write is conditional on the step still being in the state the caller
saw (claim: queued or expired; outcome: running with this attempt number),
so a duplicate delivery, a late worker or a retried transaction changes
nothing. The allowed changes are the table in status.py; each statement
here names its change once, checked when this module loads.

Raw SQL where the ORM can't say it: UPDATE ... RETURNING, and PostgreSQL's
data-modifying CTEs, which make a step's success one round trip. SQLite (the
embedded mode) runs the same statements one by one in one transaction.
"""

import functools
import json
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from workflows import rollups
from workflows.execution.messages import Advance, ClaimedStep, StepMessage, StepState
from workflows.execution.plans import Compiled, compiled, plan_of, step_queue
from workflows.execution.status import AttemptStatus, RunStatus, StepStatus, check_step_transition
from workflows.graph import Plan, descendants
from workflows.models import Run, StepAttempt, StepRun
from workflows.references import ReferenceError, resolve

S = StepStatus


def _transition(sources, target):
    check_step_transition(sources, target)
    return tuple(sources), target


CLAIM = _transition([S.QUEUED, S.RETRYING], S.RUNNING)
READY = _transition([S.PENDING], S.QUEUED)
CONTINUE = _transition([S.PENDING], S.RUNNING)
SUCCEED = _transition([S.RUNNING], S.SUCCEEDED)
SKIP = _transition([S.RUNNING], S.SKIPPED)
SKIP_BELOW = _transition([S.PENDING], S.SKIPPED)
RETRY = _transition([S.RUNNING], S.RETRYING)
FAIL = _transition([S.RUNNING], S.FAILED)
TAKE_BACK = _transition([S.RUNNING], S.QUEUED)
CANCEL = _transition(sorted(S.ACTIVE), S.CANCELLED)


def unclaimed_after() -> timedelta:
    """A queued step not claimed this long after it was due may have lost its message (recovery.py)."""
    return timedelta(seconds=settings.OAWEB_LEASE_SECONDS)


def lease() -> timedelta:
    return timedelta(seconds=settings.OAWEB_LEASE_SECONDS)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _at(moment):
    return connection.ops.adapt_datetimefield_value(moment)


def _json(value):
    return StepRun._meta.get_field("outputs").get_db_prep_save(value, connection)


def _read_json(value):
    """A JSON column read through a raw cursor: text on SQLite (and psycopg as Django sets it up)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


# --- creating a run -------------------------------------------------------------


def create_run(version, inputs: dict, components: dict, *, created_by, priority, trigger, rerun_of, reused, defer):
    """The Run and all its StepRuns in one transaction; returns (run, messages of the steps ready now).

    `reused`: {step id: StepRun} of an earlier run whose success this one
    keeps. `defer`: write the run alone, `pending`, and leave its steps to
    create_deferred_steps (a large run must not hold its starter for seconds).
    """
    # A deferred run's count is set when its steps are (the plan is not even compiled here).
    plan = None if defer else compiled(version.pk, version.content_hash, version.definition).plan
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
            unfinished=0 if defer else len(plan.order) - len(reused),
        )
        ready = [] if defer else _create_steps(run, plan, components, reused)
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
        return list(_write_deferred_steps(run, plan_of(run), components).ready)


def _write_deferred_steps(run: Run, plan: Plan, components: dict) -> Advance:
    """A deferred run's steps, under the run's lock: by its message, or by the reaper when that was lost."""
    reused = _reused_by(run)
    run.unfinished = len(plan.order) - len(reused)
    Run.objects.filter(pk=run.pk).update(steps_created=True, unfinished=run.unfinished)
    return Advance(recorded=True, ready=tuple(_create_steps(run, plan, components, reused)))


def _reused_by(run: Run) -> dict:
    if run.rerun_of_id is None:
        return {}
    return {step.step_id: step for step in StepRun.objects.filter(run_id=run.rerun_of_id, status=S.SUCCEEDED)}


def _create_steps(run: Run, plan: Plan, components: dict, reused: dict) -> list[StepMessage]:
    """Insert the run's StepRuns (inside the caller's transaction, `run.unfinished` set); the ready ones' messages."""
    now = timezone.now()
    waiting = {step_id: sum(1 for parent in plan.parents[step_id] if parent not in reused) for step_id in plan.order}
    rows = []
    for step_id in plan.order:
        step = plan.steps[step_id]
        info = components.get(step["component"])
        row = StepRun(
            run=run,
            step_id=step_id,
            component=step["component"],
            component_version=info.version if info else "",
            queue=step_queue(step, info),
            priority=step.get("priority", run.priority),
            waiting=waiting[step_id],
        )
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


def message_of(row: StepRun, **fields) -> StepMessage:
    return StepMessage(step_run_id=row.pk, component=row.component, queue=row.queue, priority=row.priority, **fields)


# --- claiming ---------------------------------------------------------------------

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
    from workflows.models import WorkflowVersion

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


# --- successes ------------------------------------------------------------------------

# The children of steps that succeeded count them off (`n`: how many of their
# parents succeeded here); those whose last parents these were become ready:
# queued, or running for this worker when they are among the children it
# continues with (`go`). SET expressions read the row as it was, so
# `waiting = n AND status = pending` means "ready now". SQLite runs it per
# parent (n = 1); PostgreSQL for the whole batch at once.
_READY_NOW = "{s}waiting = {n} AND {s}status = %(pending)s"
_GOES_ON = _READY_NOW + " AND {s}step_id {in_go}"
CHILDREN_SET = """
    waiting = {s}waiting - {n},
    status = CASE WHEN {ready} THEN (CASE WHEN {s}step_id {in_go} THEN %(running)s ELSE %(queued)s END)
        ELSE {s}status END,
    enqueued = CASE WHEN {ready} THEN %(now)s ELSE {s}enqueued END,
    lease_expires = CASE WHEN {ready} THEN (CASE WHEN {s}step_id {in_go} THEN %(lease)s ELSE %(unclaimed)s END)
        ELSE {s}lease_expires END,
    attempt = CASE WHEN {goes} THEN {s}attempt + 1 ELSE {s}attempt END,
    started = CASE WHEN {goes} THEN %(now)s ELSE {s}started END,
    worker = CASE WHEN {goes} THEN %(worker)s ELSE {s}worker END,
    task_id = CASE WHEN {goes} THEN %(task)s ELSE {s}task_id END
"""
CHILD_COLUMNS = "{s}id, {s}step_id, {s}component, {s}queue, {s}priority, {s}status, {s}attempt, {s}waiting"


def _children_set(s: str, n: str, in_go: str) -> str:
    ready = _READY_NOW.format(s=s, n=n)
    goes = _GOES_ON.format(s=s, n=n, in_go=in_go)
    return CHILDREN_SET.format(s=s, n=n, in_go=in_go, ready=ready, goes=goes)


SUCCEED_SQL = """
UPDATE {step} SET status = %(succeeded)s, inputs = %(inputs)s, outputs = %(outputs)s, error = '',
    finished = %(now)s, lease_expires = NULL
WHERE id = %(id)s AND status = %(running)s AND attempt = %(attempt)s
RETURNING id
"""

ATTEMPT_SQL = """
INSERT INTO {attempt} (step_run_id, number, status, worker, error, started, finished, delay)
VALUES (%(id)s, %(attempt)s, %(attempt_status)s, %(worker)s, '', %(started)s, %(now)s, %(delay)s)
"""

RUN_LEFT_SQL = """
UPDATE {run} SET unfinished = unfinished - %(finals)s WHERE id = %(run)s RETURNING unfinished
"""

# PostgreSQL: the batch's successes, their attempts' rows, their children and
# the run's count in ONE statement (data-modifying CTEs): one round trip and
# one commit however many steps finished together. Each part depends on
# `done`, so only the steps still held by these attempts count.
SUCCEED_BATCH_SQL = """
WITH input AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(attempts)s::integer[], %(inputs)s::text[], %(outputs)s::text[],
                         %(starts)s::timestamptz[], %(delays)s::double precision[])
        AS t(id, attempt, inputs, outputs, started, delay)
), done AS (
    UPDATE {step} AS s SET status = %(succeeded)s, inputs = input.inputs::jsonb, outputs = input.outputs::jsonb,
        error = '', finished = %(now)s, lease_expires = NULL
    FROM input WHERE s.id = input.id AND s.status = %(running)s AND s.attempt = input.attempt
    RETURNING s.id, s.step_id, input.attempt, input.started, input.delay
), attempt_rows AS (
    INSERT INTO {attempt} (step_run_id, number, status, worker, error, started, finished, delay)
    SELECT id, attempt, %(attempt_status)s, %(worker)s, '', started, %(now)s, delay FROM done
), edges AS (
    SELECT * FROM unnest(%(parents)s::text[], %(children)s::text[]) AS e(parent, child)
), counts AS (
    SELECT edges.child, count(*)::integer AS n FROM edges JOIN done ON done.step_id = edges.parent GROUP BY edges.child
), ready AS (
    UPDATE {step} AS s SET {children_set}
    FROM counts WHERE s.run_id = %(run)s AND s.step_id = counts.child
    RETURNING {child_columns}
), run_left AS (
    UPDATE {run} SET unfinished = unfinished - (SELECT count(*) FROM done)
    WHERE id = %(run)s AND EXISTS (SELECT FROM done)
    RETURNING unfinished
)
SELECT (SELECT coalesce(array_agg(id), '{{}}') FROM done), (SELECT unfinished FROM run_left), ready.*
FROM (SELECT 1) AS one LEFT JOIN ready ON true
"""


@dataclass(frozen=True)
class Success:
    """A step this worker ran that returned outputs, to be recorded."""

    claimed: ClaimedStep
    inputs: dict
    outputs: dict


def succeed(
    claimed: ClaimedStep, version: Compiled, inputs: dict, outputs: dict, go_on_with=(), task_id: str = ""
) -> Advance:
    """Record one success and what it makes ready (succeed_many of one)."""
    return succeed_many([Success(claimed, inputs, outputs)], version, go_on_with, task_id)


def succeed_many(successes, version: Compiled, go_on_with=(), task_id: str = "") -> Advance:
    """Record successes of steps of one run and what they make ready, in one transaction.

    `go_on_with`: children this worker will run itself if they become ready
    now: they are claimed for it here, under `task_id` (the claim reads the
    run in this transaction: a cancel that committed first leaves nothing to
    claim). The others that became ready are returned to be published.
    """
    now = timezone.now()
    first = successes[0].claimed
    params = {
        "run": first.run_id,
        "worker": first.worker,
        "task": task_id,
        "now": _at(now),
        "lease": _at(now + lease()),
        "unclaimed": _at(now + unclaimed_after()),
        "succeeded": S.SUCCEEDED,
        "running": S.RUNNING,
        "pending": S.PENDING,
        "queued": S.QUEUED,
        "attempt_status": AttemptStatus.SUCCEEDED,
    }
    if connection.vendor == "postgresql" and not any(_may_end_run(success, version) for success in successes):
        # One statement is one transaction: no BEGIN, no COMMIT round trip.
        done, unfinished, rows = _succeed_batch(successes, version, go_on_with, params)
        if not done:
            return Advance.not_recorded()
        ready, continued = _became_ready(first, rows, now, task_id)
        # Only if the children were skipped meanwhile (a rare race): the
        # run's finish follows at once; the reaper's repair covers a crash here.
        finished_run = _finish_run_alone(first.run_id) if unfinished == 0 else None
    else:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                done, unfinished, rows = _succeed_batch(successes, version, go_on_with, params)
            else:
                done, unfinished, rows = _succeed_in_turn(successes, version, go_on_with, params)
            if not done:
                return Advance.not_recorded()
            ready, continued = _became_ready(first, rows, now, task_id)
            finished_run = _finish_run(first.run_id, now) if unfinished == 0 else None
    changed = tuple(
        StepState.of_claimed(success.claimed, S.SUCCEEDED, finished=now)
        for success in successes
        if success.claimed.step_run_id in done
    ) + tuple(
        StepState(run_id=first.run_id, step_id=message.step_id, status=S.QUEUED, enqueued=now) for message in ready
    )
    return Advance(
        recorded=True,
        recorded_ids=frozenset(done),
        ready=tuple(ready),
        continued=tuple(continued),
        finished_run=finished_run,
        changed=changed,
    )


def _may_end_run(success: Success, version: Compiled) -> bool:
    """Whether this success can be its run's last: only a step with no children (a sink) can.

    A step with children can be the last only when all of them were skipped
    while it ran; succeed_many finishes the run right after it then.
    """
    return not version.plan.children[success.claimed.step_id]


def _finish_run_alone(run_id: int) -> Run | None:
    with transaction.atomic():
        return _finish_run(run_id, timezone.now())


def _succeed_batch(successes, version: Compiled, go_on_with, params):
    children = version.plan.children
    parents, kids = [], []
    for success in successes:
        for child in children[success.claimed.step_id]:
            parents.append(success.claimed.step_id)
            kids.append(child)
    params = {
        **params,
        "ids": [success.claimed.step_run_id for success in successes],
        "attempts": [success.claimed.attempt for success in successes],
        "inputs": [json.dumps(success.inputs) for success in successes],
        "outputs": [json.dumps(success.outputs) for success in successes],
        "starts": [success.claimed.started for success in successes],
        "delays": [success.claimed.delay for success in successes],
        "parents": parents,
        "children": kids,
        "go": list(go_on_with),
    }
    with connection.cursor() as cursor:
        cursor.execute(_succeed_batch_sql(), params)
        rows = cursor.fetchall()
    done, unfinished = set(rows[0][0]), rows[0][1]
    return done, unfinished, [row[2:] for row in rows if row[2] is not None]


@functools.cache
def _succeed_batch_sql() -> str:
    return SUCCEED_BATCH_SQL.format(
        step=_table(StepRun),
        attempt=_table(StepAttempt),
        run=_table(Run),
        children_set=_children_set("s.", "counts.n", "= ANY(%(go)s::text[])"),
        child_columns=CHILD_COLUMNS.format(s="s."),
    )


def _succeed_in_turn(successes, version: Compiled, go_on_with, params):
    """SQLite: the same writes as statements in turn (it has no writes in WITH)."""
    go_names = {f"go{n}": step_id for n, step_id in enumerate(go_on_with or [""])}
    in_go = "IN ({})".format(", ".join(f"%({name})s" for name in go_names))
    done, rows = set(), []
    with connection.cursor() as cursor:
        for success in successes:
            claimed = success.claimed
            own = {
                **params,
                "id": claimed.step_run_id,
                "attempt": claimed.attempt,
                "inputs": _json(success.inputs),
                "outputs": _json(success.outputs),
                "started": _at(claimed.started),
                "delay": claimed.delay,
            }
            cursor.execute(SUCCEED_SQL.format(step=_table(StepRun)), own)
            if cursor.fetchone() is None:
                continue
            done.add(claimed.step_run_id)
            cursor.execute(ATTEMPT_SQL.format(attempt=_table(StepAttempt)), own)
            children = version.plan.children[claimed.step_id]
            if children:
                names = {f"child{n}": child for n, child in enumerate(children)}
                sql = "UPDATE {step} SET {set} WHERE run_id = %(run)s AND step_id IN ({children}) RETURNING {columns}"
                cursor.execute(
                    sql.format(
                        step=_table(StepRun),
                        set=_children_set("", "1", in_go),
                        children=", ".join(f"%({name})s" for name in names),
                        columns=CHILD_COLUMNS.format(s=""),
                    ),
                    {**own, **names, **go_names},
                )
                rows.extend(cursor.fetchall())
        if not done:
            return done, None, []
        cursor.execute(RUN_LEFT_SQL.format(run=_table(Run)), {"finals": len(done), "run": params["run"]})
        unfinished = cursor.fetchone()[0]
    return done, unfinished, rows


def _became_ready(claimed: ClaimedStep, rows, now, task_id):
    """From the children's RETURNING rows: the messages to publish, and the steps claimed for this worker."""
    ready, continued = [], []
    for pk, step_id, component, queue, priority, status, attempt, waiting in rows:
        if waiting != 0 or status not in (S.QUEUED, S.RUNNING):
            continue  # still waiting for another parent, or skipped/cancelled meanwhile
        if status == S.RUNNING:
            continued.append(
                replace(
                    claimed,
                    step_run_id=pk,
                    step_id=step_id,
                    component=component,
                    attempt=attempt,
                    queue=queue,
                    priority=priority,
                    task_id=task_id,
                    started=now,
                    delay=0.0,
                )
            )
        else:
            ready.append(StepMessage(pk, component, queue, priority, step_id=step_id))
    return ready, continued


# --- other outcomes --------------------------------------------------------------------


def skip(claimed: ClaimedStep, plan: Plan) -> Advance:
    """`when` was false: the step and everything below it are skipped."""
    return _end_for_good(claimed, plan, SKIP[1], AttemptStatus.SUCCEEDED, "skipped: `when` was false", inputs=None)


def fail(claimed: ClaimedStep, plan: Plan, inputs, error: str) -> Advance:
    """The last attempt failed: the step fails, everything below it is skipped."""
    return _end_for_good(claimed, plan, FAIL[1], AttemptStatus.FAILED, error, inputs=inputs)


def _end_for_good(claimed, plan, status, attempt_status, error, inputs) -> Advance:
    now = timezone.now()
    fields = {"status": status, "finished": now, "lease_expires": None}
    if status == S.FAILED:
        fields.update(inputs=inputs, error=error)
    with transaction.atomic():
        if not _mine(claimed).update(**fields):
            return Advance.not_recorded()
        _attempt_row(claimed, attempt_status, now, error)
        skipped = _skip_below(claimed.run_id, plan, claimed.step_id, now)
        finished_run = _count_off(claimed.run_id, 1 + skipped, now)
    state = StepState.of_claimed(claimed, status, finished=now, error=error if status == S.FAILED else "")
    return Advance(recorded=True, finished_run=finished_run, changed=(state,), skipped_below=bool(skipped))


def retry(claimed: ClaimedStep, inputs, error: str, wait: float) -> Advance:
    """The attempt failed and another is allowed after `wait` seconds: the step waits, queued for it."""
    now = timezone.now()
    due = now + timedelta(seconds=wait)
    with transaction.atomic():
        if not _mine(claimed).update(
            status=RETRY[1], inputs=inputs, error=error, enqueued=due, lease_expires=due + unclaimed_after()
        ):
            return Advance.not_recorded()
        _attempt_row(claimed, AttemptStatus.FAILED, now, error)
    message = StepMessage(
        claimed.step_run_id, claimed.component, claimed.queue, claimed.priority, delay=wait, countdown=wait
    )
    state = StepState.of_claimed(claimed, S.RETRYING, error=error)
    return Advance(recorded=True, ready=(message,), changed=(state,))


def _mine(claimed: ClaimedStep):
    """The step's row while this attempt still holds it: a reaped or cancelled step is not ours any more.

    Whoever took it away wrote the attempt's row (cancelled, lost).
    """
    return StepRun.objects.filter(pk=claimed.step_run_id, status=S.RUNNING, attempt=claimed.attempt)


def _attempt_row(claimed: ClaimedStep, status: str, now, error: str = "") -> None:
    StepAttempt.objects.create(
        step_run_id=claimed.step_run_id,
        number=claimed.attempt,
        status=status,
        worker=claimed.worker,
        error=error,
        started=claimed.started,
        finished=now,
        delay=claimed.delay,
    )


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
        .only("workflow_id", "status", "inputs", "error", "created", "started", "version__content_hash")
        .get(pk=run_id)
    )
    if run.is_final:
        return None
    steps = {
        step_id: (status, outputs) for step_id, status, outputs in run.steps.values_list("step_id", "status", "outputs")
    }
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


# --- cancelling --------------------------------------------------------------------------


def cancel(run_id: int) -> list[StepRun] | None:
    """Cancel the run and its active steps; returns the steps that were running (None: already final).

    The steps are locked before the run, in the order a step's outcome
    takes its rows (steps, then the run), so the two never deadlock; a
    child readied while this waited is locked and cancelled too.
    """
    now = timezone.now()
    with transaction.atomic():
        active = list(StepRun.objects.select_for_update().filter(run_id=run_id, status__in=CANCEL[0]).order_by("id"))
        if not Run.objects.filter(pk=run_id, status__in=RunStatus.ACTIVE).update(
            status=RunStatus.CANCELLED, finished=now, error="cancelled", unfinished=0
        ):
            return None
        # By status, not by the rows locked above: a deferred run's steps,
        # created while this waited for the run's lock, are cancelled too.
        StepRun.objects.filter(run_id=run_id, status__in=CANCEL[0]).update(
            status=CANCEL[1], finished=now, lease_expires=None
        )
        running = [step for step in active if step.status == S.RUNNING]
        # A running attempt's row is written by whoever ends it: here, the cancel.
        StepAttempt.objects.bulk_create(
            [step.ended_attempt(AttemptStatus.CANCELLED, now, "cancelled") for step in running],
            ignore_conflicts=True,
        )
        rollups.run_finished(run_id)
    return running


# --- recovery -------------------------------------------------------------------------


def expired_leases(now, limit: int = 500) -> list[StepRun]:
    """Running steps whose worker stopped renewing the lease (presumed dead)."""
    return list(
        StepRun.objects.filter(status=S.RUNNING, lease_expires__lt=now)
        .select_related("run", "run__version")
        .order_by("lease_expires")[:limit]
    )


def take_back(row: StepRun, now, give_up: bool) -> Advance:
    """A dead worker's step: queued again (its attempt lost), or failed for good when `give_up`."""
    lost = f"worker {row.worker} stopped renewing its lease (presumed dead)"
    held = StepRun.objects.filter(pk=row.pk, status=S.RUNNING, attempt=row.attempt, lease_expires__lt=now)
    with transaction.atomic():
        if give_up:
            if not held.update(status=FAIL[1], error=lost, finished=now, lease_expires=None):
                return Advance.not_recorded()
            _lost_attempt(row, now, lost)
            skipped = _skip_below(row.run_id, plan_of(row.run), row.step_id, now)
            finished_run = _count_off(row.run_id, 1 + skipped, now)
            state = StepState(row.run_id, row.step_id, S.FAILED, row.attempt, row.worker, lost, finished=now)
            return Advance(recorded=True, finished_run=finished_run, changed=(state,), skipped_below=bool(skipped))
        if not held.update(status=TAKE_BACK[1], error=lost, enqueued=now, lease_expires=now + unclaimed_after()):
            return Advance.not_recorded()
        _lost_attempt(row, now, lost)
    state = StepState(row.run_id, row.step_id, S.QUEUED, row.attempt, error=lost, enqueued=now)
    return Advance(recorded=True, ready=(message_of(row),), changed=(state,))


def _lost_attempt(row: StepRun, now, error: str) -> None:
    StepAttempt.objects.bulk_create([row.ended_attempt(AttemptStatus.LOST, now, error)], ignore_conflicts=True)


def unclaimed(now, limit: int = 1000) -> list[StepRun]:
    """Queued steps due long enough ago that their message may be lost."""
    return list(
        StepRun.objects.filter(status__in=sorted(S.WAITING_FOR_WORKER), lease_expires__lt=now)
        .only("id", "run_id", "step_id", "component", "queue", "priority", "status", "lease_expires", "enqueued")
        .order_by("lease_expires")[:limit]
    )


def mark_resent(row: StepRun, now) -> bool:
    """Note that the step's message is sent again; False when something else moved it meanwhile."""
    return bool(
        StepRun.objects.filter(pk=row.pk, status=row.status, lease_expires=row.lease_expires).update(
            lease_expires=now + unclaimed_after()
        )
    )


def postpone_check(row: StepRun, now) -> None:
    """Its message is probably still in a busy queue: look again later."""
    StepRun.objects.filter(pk=row.pk, status=row.status, lease_expires=row.lease_expires).update(
        lease_expires=now + unclaimed_after()
    )


def resend_soon(step_run_ids) -> None:
    """Publishing failed (the broker is down): let the reaper resend these as soon as it can."""
    StepRun.objects.filter(pk__in=list(step_run_ids), status__in=sorted(S.WAITING_FOR_WORKER)).update(
        lease_expires=timezone.now()
    )


def stalled_runs(limit: int = 200) -> list[int]:
    """Active runs with no step queued, retrying or running: nothing will move them but a repair.

    With every transition in one transaction none should exist; a run
    started before the counters existed, or a bug, can leave one.
    """
    moving = StepRun.objects.filter(run_id=OuterRef("pk"), status__in=[S.QUEUED, S.RETRYING, S.RUNNING])
    # A run whose steps are being created has none yet: stalled only once
    # the message creating them had a lease's time to be taken.
    being_created = Q(steps_created=False, created__gt=timezone.now() - unclaimed_after())
    return list(
        Run.objects.filter(status__in=RunStatus.ACTIVE)
        .exclude(being_created)
        .exclude(Exists(moving))
        .order_by("created")
        .values_list("pk", flat=True)[:limit]
    )


def repair_run(run_id: int, components: dict) -> Advance:
    """Recompute a run's readiness and counts from its steps' statuses (the truth) and act on them.

    Under the run row's lock, which every transition that ends a step also
    takes: the statuses read here can't change under the repair.
    """
    now = timezone.now()
    with transaction.atomic():
        run = Run.objects.select_for_update().select_related("version").filter(pk=run_id).first()
        if run is None or run.is_final:
            return Advance.not_recorded()
        plan = plan_of(run)
        if not run.steps_created:  # the message that was to create them was lost
            return _write_deferred_steps(run, plan, components)
        rows = {row.step_id: row for row in run.steps.all()}
        status = {step_id: row.status for step_id, row in rows.items()}
        ready, skipped = [], []
        for step_id in plan.order:  # parents before children: a skip reaches all the way down
            if status.get(step_id) != S.PENDING:
                continue
            parents = [status.get(parent) for parent in plan.parents[step_id]]
            if any(parent in S.FINAL and parent != S.SUCCEEDED for parent in parents):
                status[step_id] = S.SKIPPED
                skipped.append(step_id)
            elif all(parent == S.SUCCEEDED for parent in parents):
                status[step_id] = S.QUEUED
                ready.append(step_id)
        if skipped:
            StepRun.objects.filter(run_id=run_id, step_id__in=skipped, status=S.PENDING).update(
                status=S.SKIPPED, finished=now
            )
        if ready:
            StepRun.objects.filter(run_id=run_id, step_id__in=ready, status=S.PENDING).update(
                status=S.QUEUED, waiting=0, enqueued=now, lease_expires=now + unclaimed_after()
            )
        unfinished = sum(1 for state in status.values() if state not in S.FINAL)
        Run.objects.filter(pk=run_id).update(unfinished=unfinished)
        finished_run = _finish_run(run_id, now) if unfinished == 0 else None
    return Advance(
        recorded=bool(ready or skipped or finished_run),
        ready=tuple(message_of(rows[step_id]) for step_id in ready),
        finished_run=finished_run,
        skipped_below=bool(skipped),
    )
