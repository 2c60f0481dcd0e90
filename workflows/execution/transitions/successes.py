"""Successes: a step's outputs recorded, its children counted down and readied, in one transaction."""

import functools
import json
from dataclasses import dataclass, replace

from django.db import connection, transaction
from django.utils import timezone

from workflows.execution.messages import Advance, ClaimedStep, StepMessage, StepState
from workflows.execution.models import Run, StepAttempt, StepRun
from workflows.execution.plans import Compiled
from workflows.execution.status import AttemptStatus
from workflows.execution.transitions.common import (
    RUN_LEFT_SQL,
    S,
    _at,
    _finish_run,
    _json,
    _table,
    fetch_prepared,
    lease,
    unclaimed_after,
)
from workflows.execution.transitions.mapping import count_off, lock_maps

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
WHERE id = %(id)s AND status IN (%(running)s, %(waiting)s) AND attempt = %(attempt)s
RETURNING id
"""

ATTEMPT_SQL = """
INSERT INTO {attempt} (step_run_id, number, status, worker, error, started, finished, delay, log)
VALUES (%(id)s, %(attempt)s, %(attempt_status)s, %(worker)s, '', %(started)s, %(now)s, %(delay)s, %(log)s)
"""

# PostgreSQL: the batch's successes, their attempts' rows, their children and
# the run's count in ONE statement (data-modifying CTEs): one round trip and
# one commit however many steps finished together. Each part depends on
# `done`, so only the steps still held by these attempts count.
SUCCEED_BATCH_SQL = """
WITH input AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(attempts)s::integer[], %(inputs)s::text[], %(outputs)s::text[],
                         %(starts)s::timestamptz[], %(delays)s::double precision[], %(logs)s::text[])
        AS t(id, attempt, inputs, outputs, started, delay, log)
), done AS (
    UPDATE {step} AS s SET status = %(succeeded)s, inputs = input.inputs::jsonb, outputs = input.outputs::jsonb,
        error = '', finished = %(now)s, lease_expires = NULL
    FROM input WHERE s.id = input.id AND s.status IN (%(running)s, %(waiting)s) AND s.attempt = input.attempt
    RETURNING s.id, s.step_id, input.attempt, input.started, input.delay, input.log
), attempt_rows AS (
    INSERT INTO {attempt} (step_run_id, number, status, worker, error, started, finished, delay, log)
    SELECT id, attempt, %(attempt_status)s, %(worker)s, '', started, %(now)s, delay, log FROM done
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
    log: str = ""  # the attempt's log (step_logs.py), stored in its attempt row


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
    params = _params(first, now, task_id)
    maps = [success.claimed.map_step_run_id for success in successes if success.claimed.map_step_run_id]
    if connection.vendor == "postgresql" and not maps and not any(_may_end_run(s, version) for s in successes):
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
            lock_maps(maps)
            done, unfinished, rows = _record(successes, version, go_on_with, params)
            if not done:
                return Advance.not_recorded()
            ready, continued = _became_ready(first, rows, now, task_id)
            items = items_ended([s.claimed for s in successes if s.claimed.step_run_id in done], version, now)
            ready += items.ready
            unfinished = unfinished if items.unfinished is None else items.unfinished
            finished_run = _finish_run(first.run_id, now) if unfinished == 0 else None
    changed = tuple(
        StepState.of_claimed(success.claimed, S.SUCCEEDED, finished=now)
        for success in successes
        if success.claimed.step_run_id in done
    ) + tuple(
        StepState(run_id=first.run_id, step_id=message.step_id, status=S.QUEUED, enqueued=now) for message in ready
    )
    if maps:
        changed += items.changed
    return Advance(
        recorded=True,
        recorded_ids=frozenset(done),
        ready=tuple(ready),
        continued=tuple(continued),
        finished_run=finished_run,
        changed=changed,
    )


def _params(first: ClaimedStep, now, task_id: str) -> dict:
    return {
        "run": first.run_id,
        "worker": first.worker,
        "task": task_id,
        "now": _at(now),
        "lease": _at(now + lease()),
        "unclaimed": _at(now + unclaimed_after()),
        "succeeded": S.SUCCEEDED,
        "running": S.RUNNING,
        "waiting": S.WAITING,
        "pending": S.PENDING,
        "queued": S.QUEUED,
        "attempt_status": AttemptStatus.SUCCEEDED,
    }


def _record(successes, version: Compiled, go_on_with, params):
    if connection.vendor == "postgresql":
        return _succeed_batch(successes, version, go_on_with, params)
    return _succeed_in_turn(successes, version, go_on_with, params)


def _may_end_run(success: Success, version: Compiled) -> bool:
    """Whether this success can be its run's last: only a step with no children (a sink) can.

    A step with children can be the last only when all of them were skipped
    while it ran; succeed_many finishes the run right after it then.
    """
    return not version.plan.children.get(success.claimed.step_id)


@dataclass(frozen=True)
class ItemsEnded:
    ready: tuple[StepMessage, ...] = ()
    changed: tuple[StepState, ...] = ()
    unfinished: int | None = None  # the run's count after a map's success, when one ended


def items_ended(ended, version: Compiled, now) -> ItemsEnded:
    """Map items ended for good and counted as done (succeeded, or failed under allow_failures).

    Inside their transaction, their maps' rows locked first (mapping.lock_maps):
    each map counts them off and queues its next items; a map whose last item
    this was succeeds here, with its outputs gathered, and readies its children.
    """
    by_map: dict[int, list[ClaimedStep]] = {}
    for claimed in ended:
        if claimed.map_step_run_id:
            by_map.setdefault(claimed.map_step_run_id, []).append(claimed)
    ready, changed, unfinished = [], [], None
    for map_step_run_id, items in sorted(by_map.items()):
        counted = count_off(map_step_run_id, len(items), items[0], now)
        ready.extend(counted.ready)
        changed.extend(counted.changed)
        if counted.map_claimed is None:
            continue
        map_claimed = counted.map_claimed
        params = _params(map_claimed, now, "")
        done, unfinished, rows = _record([Success(map_claimed, None, counted.outputs)], version, (), params)
        if not done:
            continue
        children, _ = _became_ready(map_claimed, rows, now, "")
        ready.extend(children)
        changed.append(StepState.of_claimed(map_claimed, S.SUCCEEDED, finished=now))
        changed.extend(
            StepState(run_id=map_claimed.run_id, step_id=m.step_id, status=S.QUEUED, enqueued=now) for m in children
        )
    return ItemsEnded(ready=tuple(ready), changed=tuple(changed), unfinished=unfinished)


def _finish_run_alone(run_id: int) -> Run | None:
    with transaction.atomic():
        return _finish_run(run_id, timezone.now())


def _succeed_batch(successes, version: Compiled, go_on_with, params):
    children = version.plan.children
    parents, kids = [], []
    for success in successes:
        for child in children.get(success.claimed.step_id, ()):
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
        "logs": [success.log for success in successes],
        "parents": parents,
        "children": kids,
        "go": list(go_on_with),
    }
    rows = fetch_prepared(_succeed_batch_sql(), params)
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
                "log": success.log,
            }
            cursor.execute(SUCCEED_SQL.format(step=_table(StepRun)), own)
            if cursor.fetchone() is None:
                continue
            done.add(claimed.step_run_id)
            cursor.execute(ATTEMPT_SQL.format(attempt=_table(StepAttempt)), own)
            children = version.plan.children.get(claimed.step_id)
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
                    map_step_run_id=None,  # a plan's step, whatever the success that readied it
                    item=None,
                )
            )
        else:
            ready.append(StepMessage(pk, component, queue, priority, step_id=step_id))
    return ready, continued
