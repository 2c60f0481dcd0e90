"""A map's items: written in bulk when its list is known, counted off as they end, the map ended by the last.

`expand`, in the transaction that makes the map step wait: every item's
StepRun in a bulk INSERT (a 10,000-item map starts in a few statements, not
10,000 round trips); the first `concurrency` of them (all, without one)
queued or claimed for the expanding worker, the others pending. The run's
count of unfinished steps grows by the items.

`count_off`, inside the transaction that ends items (a success, or a failure
for good under allow_failures): the map step's row counts them down
(`StepRun.items_left`, as `Run.unfinished` counts steps) and as many pending
items as ended are queued, so no more than `concurrency` ever run at once. The
last item's end returns the map's outputs, gathered in order, for the caller
to record as the map step's success in that same transaction: its children
are readied then, and the run finished if it was the last.

`fail_map`: an item failed for good without allow_failures. The map fails in
that transaction, its other items are cancelled and what follows it skipped.

Lock order: the map step's row before its items' (cancel takes steps by id,
and a map's items are written after it) and before the run's row.
"""

from dataclasses import dataclass, replace

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from registry import lookup
from workflows.definitions.references import Item
from workflows.execution.items import item_step_id
from workflows.execution.messages import Advance, ClaimedStep, StepMessage, StepState
from workflows.execution.models import Run, StepAttempt, StepRun
from workflows.execution.status import AttemptStatus
from workflows.execution.transitions.common import (
    CANCEL,
    FAIL,
    READY,
    WAIT,
    S,
    _at,
    _count_off,
    _read_json,
    _skip_below,
    _table,
    fetch_prepared,
    fetch_rows,
    lease,
    unclaimed_after,
)
from workflows.execution.wait_specs import MAP

# The map step as its count-off leaves it, and what an ending needs of it.
LOCK_MAPS_SQL = "SELECT id FROM {step} WHERE id = ANY(%(ids)s::bigint[]) ORDER BY id FOR UPDATE"

COUNT_OFF_SQL = """
UPDATE {step} SET items_left = items_left - %(n)s WHERE id = %(map)s AND status = %(waiting)s
RETURNING items_left, wait, run_id, step_id, component, attempt, queue, priority, worker, started
"""

# The next pending items, in order, queued as others ended.
READY_NEXT_SQL = """
UPDATE {step} SET status = %(queued)s, waiting = 0, enqueued = %(now)s, lease_expires = %(unclaimed)s
WHERE id IN (
    SELECT id FROM {step} WHERE map_step_id = %(map)s AND status = %(pending)s ORDER BY item_index LIMIT %(n)s
)
RETURNING id, step_id, component, queue, priority
"""


def expand(claimed: ClaimedStep, step, items: list, go: int, task_id: str) -> Advance:
    """The map step waits for its items, written now; the first `go` of them are claimed for this worker.

    `items` is not empty (an empty map succeeds at once, as any step does).
    """
    now = timezone.now()
    first = len(items) if step.concurrency is None else min(step.concurrency, len(items))
    go = min(go, first)
    wait = {"kind": MAP, "items": len(items), "concurrency": step.concurrency, "allow_failures": step.allow_failures}
    info = lookup.get(claimed.component)
    with transaction.atomic():
        mine = StepRun.objects.filter(pk=claimed.step_run_id, status__in=WAIT[0], attempt=claimed.attempt)
        if not mine.update(status=WAIT[1], wait=wait, items_left=len(items), lease_expires=None):
            return Advance.not_recorded()
        rows = [
            _item_row(claimed, info, index, value, now, task_id, go=index < go, queued=index < first)
            for index, value in enumerate(items)
        ]
        StepRun.objects.bulk_create(rows, batch_size=2000)
        Run.objects.filter(pk=claimed.run_id).update(unfinished=F("unfinished") + len(items))
    continued = tuple(
        replace(
            claimed,
            step_run_id=row.pk,
            step_id=row.step_id,
            attempt=1,
            task_id=task_id,
            started=now,
            delay=0.0,
            map_step_run_id=claimed.step_run_id,
            item=Item(row.item, row.item_index),
        )
        for row in rows[:go]
    )
    queued = rows[go:first]
    return Advance(
        recorded=True,
        ready=tuple(StepMessage(row.pk, row.component, row.queue, row.priority, step_id=row.step_id) for row in queued),
        continued=continued,
        changed=(StepState.of_claimed(claimed, S.WAITING),)
        + tuple(StepState(run_id=claimed.run_id, step_id=row.step_id, status=S.QUEUED, enqueued=now) for row in queued),
    )


def _item_row(claimed: ClaimedStep, info, index: int, value, now, task_id: str, go: bool, queued: bool) -> StepRun:
    row = StepRun(
        run_id=claimed.run_id,
        step_id=item_step_id(claimed.step_id, index),
        component=claimed.component,
        component_version=info.version if info else "",
        queue=claimed.queue,
        priority=claimed.priority,
        map_step_id=claimed.step_run_id,
        item_index=index,
        item=value,
    )
    if go:  # created running for this worker, as a success's continued children are readied for it
        row.status, row.attempt, row.worker, row.task_id = S.RUNNING, 1, claimed.worker, task_id
        row.enqueued, row.started, row.lease_expires = now, now, now + lease()
    elif queued:
        row.status, row.enqueued, row.lease_expires = S.QUEUED, now, now + unclaimed_after()
    else:  # its turn comes when another item ends (count_off)
        row.status, row.waiting = S.PENDING, 1
    return row


def lock_maps(map_step_run_ids) -> None:
    """Lock these map steps' rows before their items' (the lock order above); inside the transaction."""
    ids = sorted(set(map_step_run_ids))
    if not ids:
        return
    if connection.vendor == "postgresql":  # once per item's success: prepared (common.fetch_prepared)
        fetch_prepared(LOCK_MAPS_SQL.format(step=_table(StepRun)), {"ids": ids})
    else:
        list(StepRun.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))


@dataclass(frozen=True)
class Counted:
    """What items ending did to their map: the next items queued, and the map's outputs if it is done."""

    ready: tuple[StepMessage, ...] = ()
    changed: tuple[StepState, ...] = ()
    map_claimed: ClaimedStep | None = None  # the map step as its attempt holds it, when the last item ended
    outputs: dict | None = None


def count_off(map_step_run_id: int, ended: int, template: ClaimedStep, now) -> Counted:
    """`ended` items of the map ended (succeeded, or failed under allow_failures); inside their transaction.

    `template`: one of the ended items as its worker held it (the map's claim is built from it).
    """
    params = {"map": map_step_run_id, "n": ended, "waiting": S.WAITING}
    rows = fetch_rows(COUNT_OFF_SQL.format(step=_table(StepRun)), params)  # once per item's success: prepared
    row = rows[0] if rows else None
    if row is None:
        return Counted()  # the map no longer waits: failed by another item, or cancelled
    items_left, wait, run_id, step_id, component, attempt, queue, priority, worker, started = row
    wait = _read_json(wait) or {}
    ready = _ready_next(map_step_run_id, ended, now) if wait.get("concurrency") else ()
    changed = tuple(StepState(run_id=run_id, step_id=m.step_id, status=S.QUEUED, enqueued=now) for m in ready)
    if items_left > 0:
        return Counted(ready=ready, changed=changed)
    map_claimed = replace(
        template,
        step_run_id=map_step_run_id,
        step_id=step_id,
        component=component,
        attempt=attempt,
        queue=queue,
        priority=priority,
        worker=worker,
        started=started,
        delay=0.0,
        map_step_run_id=None,
        item=None,
    )
    return Counted(ready=ready, changed=changed, map_claimed=map_claimed, outputs=map_outputs(map_step_run_id))


def _ready_next(map_step_run_id: int, count: int, now) -> tuple[StepMessage, ...]:
    params = {
        "map": map_step_run_id,
        "n": count,
        "now": _at(now),
        "unclaimed": _at(now + unclaimed_after()),
        "queued": READY[1],
        "pending": READY[0][0],
    }
    with connection.cursor() as cursor:
        cursor.execute(READY_NEXT_SQL.format(step=_table(StepRun)), params)
        rows = cursor.fetchall()
    return tuple(
        StepMessage(pk, component, queue, priority, step_id=step_id) for pk, step_id, component, queue, priority in rows
    )


def map_outputs(map_step_run_id: int) -> dict:
    """The map's outputs from its items, in order: each one's outputs (None if it failed), and the errors."""
    results, errors = [], []
    items = StepRun.objects.filter(map_step_id=map_step_run_id).order_by("item_index")
    for index, status, outputs, error in items.values_list("item_index", "status", "outputs", "error"):
        if status == S.SUCCEEDED:
            results.append(outputs)
        else:
            results.append(None)
            errors.append({"index": index, "error": error})
    return {"results": results, "errors": errors}


def allows_failures(map_step_run_id: int) -> bool:
    wait = StepRun.objects.filter(pk=map_step_run_id).values_list("wait", flat=True).first() or {}
    return bool(wait.get("allow_failures"))


def fail_map(item: ClaimedStep, error: str, plan, now) -> Advance:
    """The item failed for good and its map doesn't allow it: the map fails, its other items are cancelled.

    Inside the item's transaction, after its own end was counted off.
    """
    message = _map_error(item, error)
    waiting = StepRun.objects.filter(pk=item.map_step_run_id, status=S.WAITING)  # its row is locked (lock_maps)
    row = waiting.only("step_id", "attempt", "worker", "started").first()
    if row is None or not waiting.update(status=FAIL[1], error=message, finished=now, items_left=0):
        return Advance(recorded=True)  # failed already by another item, or cancelled
    step_id, attempt = row.step_id, row.attempt
    row.ended_attempt(AttemptStatus.FAILED, now, message).save()
    others = StepRun.objects.filter(map_step_id=item.map_step_run_id, status__in=CANCEL[0])
    held = list(others.filter(status__in=S.HELD))
    cancelled = others.update(status=CANCEL[1], finished=now, lease_expires=None)
    StepAttempt.objects.bulk_create(
        [step.ended_attempt(AttemptStatus.CANCELLED, now, "cancelled: another item failed") for step in held],
        ignore_conflicts=True,
    )
    skipped = _skip_below(item.run_id, plan, step_id, now)
    finished_run = _count_off(item.run_id, 1 + cancelled + skipped, now)
    state = StepState(
        run_id=item.run_id, step_id=step_id, status=S.FAILED, attempt=attempt, error=message, finished=now
    )
    return Advance(recorded=True, finished_run=finished_run, changed=(state,), skipped_below=True)


def _map_error(item: ClaimedStep, error: str) -> str:
    return f"item {item.item.index if item.item else '?'} failed: {error}"
