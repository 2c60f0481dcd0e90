"""What the run page and the dashboard show.

Each function here feeds both the page (rendered once) and the WebSocket
push (the same partials, swapped out of band), so the two never drift apart.
"""

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter

from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from workflows.execution.items import spec_step_id
from workflows.execution.models import Run, StepAttempt, StepRun
from workflows.execution.status import AttemptStatus, RunStatus, StepStatus
from workflows.execution.workers import Worker
from workflows.web.step_records import StepRecord, step_records

# The step table and the timeline leave out inputs and outputs: a run of
# thousands of steps would drag every one of them through the socket. The
# columns of step_records.StepRecord (a test keeps the two the same).
STEP_LIST_FIELDS = (
    "id",
    "run_id",
    "step_id",
    "component",
    "status",
    "attempt",
    "queue",
    "worker",
    "error",
    "enqueued",
    "started",
    "finished",
    "wait",  # what a waiting step's row and node say it waits for
    "wait_until",
    "items_left",  # set on a map step: its row and node show its items' counts
)
# Past this many steps the timeline shows the earliest ones and says so.
TIMELINE_LIMIT = 300
# The step table shows this many rows unless asked for all: thousands of rows
# would make a big run's page slow to load and to update. The graph shows all.
TABLE_LIMIT = 200
RECENT_RUNS = 15


# --- run page -------------------------------------------------------------------


def step_rows(run: Run) -> list[StepRecord]:
    """The run's own steps (a map's items left out, counted on their map), as the page shows them."""
    return step_records(run)


def _changed_since(step: StepRecord, since: datetime) -> bool:
    return any(moment and moment >= since for moment in (step.enqueued, step.started, step.finished))


def progress(run: Run, steps: list[StepRecord] | None = None) -> dict:
    """Steps by status, and how many of them have finished.

    steps: counted from these rows (the ones the page's table and graph show,
    read once), so that the bar never disagrees with them; else from the database.
    """
    if steps is None:
        own = StepRun.objects.filter(run=run, map_step__isnull=True)  # a map counts as one step, not its items
        counts = dict(own.values_list("status").annotate(n=Count("id")).order_by())
    else:
        counts = dict(Counter(step.status for step in steps))
    total = sum(counts.values())
    finished = sum(counts.get(status, 0) for status in StepStatus.FINAL)
    segments = [
        {"status": status, "count": counts[status], "percent": 100 * counts[status] / total}
        for status in StepStatus.values
        if counts.get(status) and status != StepStatus.PENDING
    ]
    return {"total": total, "finished": finished, "segments": segments, "counts": counts}


# --- attempts: back-off, queue wait, running ---------------------------------------


@dataclass
class Attempt:
    """One attempt of a step as the run page shows it: its back-off, then its queue wait, then its run.

    backoff_from: when the attempt before it ended; ready: when a worker could
    take it (after its back-off; None when no longer recorded: a retry moves
    the step's `enqueued` to its own due time); until: when a waiting attempt
    stopped waiting without running (a cancel).
    """

    number: int
    status: str
    backoff_from: datetime | None = None
    backoff: float = 0.0
    ready: datetime | None = None
    started: datetime | None = None
    finished: datetime | None = None
    worker: str = ""
    error: str = ""
    until: datetime | None = None

    @property
    def queue_wait(self) -> float | None:
        if self.ready is None or self.started is None:
            return None
        return max((self.started - self.ready).total_seconds(), 0.0)

    @property
    def ran_for(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return max((self.finished - self.started).total_seconds(), 0.0)


def _current_attempt(step: StepRun, by_number: dict) -> int | None:
    """The attempt the step's own started/enqueued describe, or None when it waits for its next one."""
    if step.status in (StepStatus.PENDING, *StepStatus.WAITING_FOR_WORKER) or step.started is None:
        return None
    number = step.attempt or 1
    if step.status == StepStatus.CANCELLED:
        row = by_number.get(number)
        # Cancelled while it ran (the cancel wrote that attempt's row), or while it waited for the next one.
        ran = row.status == AttemptStatus.CANCELLED if row else not step.enqueued or step.enqueued <= step.started
        return number if ran else None
    return number


def attempts_of(step: StepRun, rows, now: datetime | None = None) -> list[Attempt]:
    """Every attempt of `step`: the ended ones from their rows (StepAttempt), the current one from the step.

    An attempt that waits (queued again, or retrying after its back-off) is
    the last one, not started. Back-off is the attempt row's `delay`; queue
    wait is from the end of the back-off to the start.
    """
    rows = sorted(rows, key=lambda row: row.number)
    by_number = {row.number: row for row in rows}
    attempts, previous_end = [], None
    for row in rows:
        ready = previous_end + timedelta(seconds=row.delay) if previous_end else None
        timing = {"backoff_from": previous_end, "backoff": row.delay, "ready": ready}
        ended = {"started": row.started, "finished": row.finished, "worker": row.worker, "error": row.error}
        attempts.append(Attempt(row.number, row.status, **timing, **ended))
        previous_end = row.finished or previous_end
    current = _current_attempt(step, by_number)
    if current is not None and current in by_number:
        # The step's `enqueued` is when its latest attempt became due: exact, where attempt 1's was overwritten.
        attempt = next(attempt for attempt in attempts if attempt.number == current)
        attempt.ready, attempt.status = step.enqueued or attempt.ready, step.status
        return attempts
    last = attempts[-1] if attempts else None
    before = last.finished if last else None
    backoff = (step.enqueued - before).total_seconds() if step.enqueued and before else 0.0
    if current is not None:
        finished = step.finished if step.status in StepStatus.FINAL else None
        started, worker, status = step.started, step.worker, step.status
        attempts.append(Attempt(current, status, before, max(backoff, 0.0), step.enqueued, started, finished, worker))
    elif step.enqueued and step.status in (*StepStatus.WAITING_FOR_WORKER, StepStatus.CANCELLED):
        until = step.finished if step.status == StepStatus.CANCELLED else None
        number = (last.number if last else step.attempt) + 1
        attempts.append(Attempt(number, step.status, before, max(backoff, 0.0), step.enqueued, until=until))
    return attempts


def attempt_rows(run: Run) -> dict[int, list[StepAttempt]]:
    """The attempt rows of the steps that have (or had) more than their current attempt: {step run id: rows}.

    Other steps' one attempt is their own row's fields; a run of thousands of
    steps that never retried reads nothing here.
    """
    retried = Q(step_run__attempt__gt=1) | Q(
        step_run__attempt__gte=1, step_run__status__in=[*StepStatus.WAITING_FOR_WORKER, StepStatus.CANCELLED]
    )
    # A map's items are not on the timeline: their attempts are read by their own step page.
    rows = StepAttempt.objects.filter(retried, step_run__run_id=run.pk, step_run__map_step__isnull=True).only(
        "step_run_id", "number", "status", "worker", "error", "started", "finished", "delay"
    )
    by_step: dict[int, list[StepAttempt]] = defaultdict(list)
    for row in rows.order_by():
        by_step[row.step_run_id].append(row)
    return by_step


def _spans(attempt: Attempt, now: datetime):
    """(kind, start, end) of an attempt on the timeline: back-off, queue wait, running."""
    waited_until = attempt.started or attempt.until or now
    if attempt.backoff_from and attempt.ready and attempt.ready > attempt.backoff_from:
        yield "backoff", attempt.backoff_from, min(attempt.ready, waited_until)
    if attempt.ready and waited_until > attempt.ready:
        yield "wait", attempt.ready, waited_until
    if attempt.started:
        yield "exec", attempt.started, attempt.finished or now


def timeline(run: Run, steps: list[StepRecord], now: datetime | None = None, attempts=None) -> dict:
    """Bars for a Gantt chart: each attempt's back-off, queue wait and run, as percentages of the run's span.

    attempts: {step run id: attempt rows} (attempt_rows), read here when not given.
    """
    now = now or timezone.now()
    attempts = attempt_rows(run) if attempts is None else attempts

    def spans_of(step):
        return [
            (kind, start, end, attempt)
            for attempt in attempts_of(step, attempts.get(step.id, ()), now)
            for kind, start, end in _spans(attempt, now)
        ]

    # Placed by their first moment; the spans of a step that never retried are drawn only if it is shown:
    # building them for thousands of steps took ten times as long as the rest.
    placed = []
    for step in steps:
        spans, enqueued, started = None, step.enqueued, step.started
        if step.id in attempts:
            spans = spans_of(step)
            first = min((span[1] for span in spans), default=None)
        else:
            first = enqueued if enqueued and (not started or enqueued <= started) else started
        if first is not None:
            placed.append((first, step.id, step, spans))
    placed.sort(key=itemgetter(0, 1))
    drawn = placed[:TIMELINE_LIMIT]
    shown = [(first, pk, step, spans_of(step) if spans is None else spans) for first, pk, step, spans in drawn]
    shown = [item for item in shown if item[3]]
    if not shown:
        return {"rows": [], "hidden": 0, "span": None}
    origin = min(first for first, _, _, _ in shown)
    end = max(max(span[2] for *_, spans in shown for span in spans), run.finished or origin)
    span = max((end - origin).total_seconds(), 0.001)

    def at(moment):
        return 100 * (moment - origin).total_seconds() / span

    rows = []
    for _, _, step, spans in shown:
        bars = []
        for kind, start, stop, attempt in spans:
            width = max(at(stop) - at(start), 0.2 if kind == "exec" else 0)
            seconds = max((stop - start).total_seconds(), 0.0)
            bars.append({"kind": kind, "left": at(start), "width": width, "attempt": attempt, "seconds": seconds})
        rows.append({"step": step, "bars": bars})
    return {"rows": rows, "hidden": len(placed) - len(shown), "span": timedelta(seconds=span)}


def run_context(run: Run, steps: list[StepRecord] | None = None, whole_table: bool = False, with_timeline=True) -> dict:
    """Everything the run page's partials need (steps: all of them, as the page shows).

    The progress is counted from the same rows as the table and the graph:
    one read, so no part runs ahead of another.
    """
    steps = step_rows(run) if steps is None else steps
    return {
        "table": steps if whole_table else steps[:TABLE_LIMIT],
        "whole_table": whole_table or len(steps) <= TABLE_LIMIT,
        "run": run,
        # Rows link to their step as step_base + id: a reverse() per row costs more than the rest of the row.
        "step_base": reverse("step-detail", args=[run.pk, "-"])[:-2],
        "steps": steps,
        "progress": progress(run, steps),
        "timeline": timeline(run, steps) if with_timeline else None,
        "statuses": {step.step_id: step.status for step in steps},
        "nodes": {step.step_id: node_state(step) for step in steps if _has_node_state(step)},
    }


def _has_node_state(step: StepRecord) -> bool:
    """A map, or a step that waits or waited: its node shows more than its status (node_state)."""
    return step.is_map or step.wait is not None


def node_state(step: StepRecord) -> dict:
    """What a graph node shows beyond its status (static/oaweb/dag.js): a map's counts, a wait in words.

    {"items": counts} for a map; {"detail": its second line, "note": the whole
    sentence, for its tooltip} for a step that waits; {} once it no longer does
    (the node clears).
    """
    state = {}
    if step.items is not None:
        state["items"] = step.items.as_json()
    if detail := step.node_detail:
        state["detail"] = detail
    if waits := step.waits_for:
        state["note"] = f"waiting for {waits}"
    return state


def _shown_as(step: StepRecord) -> tuple:
    """What a step's row and graph node show of it: a page showing this needs no new row."""
    return (step.status, step.attempt, step.worker, step.enqueued, step.started, step.finished, step.items)


def _marked(everything: list[StepRecord], step_ids, since, all_steps: bool) -> list[StepRecord]:
    """The steps run_update_messages is told changed: all, those changed since a moment, or those named."""
    if all_steps:
        return everything
    if since is not None:
        # A map's counts move without its own times: its node and row are always brought up to date.
        return [step for step in everything if step.is_map or _changed_since(step, since)]
    wanted = {spec_step_id(step_id) for step_id in step_ids or ()}  # an item's event ("M[3]") changes its map
    return [step for step in everything if step.step_id in wanted]


def run_update_messages(
    run_id: int,
    step_ids=None,
    since=None,
    with_timeline=True,
    all_steps=False,
    whole_table=False,
    shown: dict | None = None,
) -> list[str]:
    """The out-of-band fragments that bring an open run page up to date, as WebSocket messages.

    Changed table rows travel in a message of their own, just before the
    rest: the browser parses a fragment by its first tag, and `<tr>`s after a
    `<div>` would be dropped. The page (static/oaweb/run.js) applies the two
    together, in one swap.

    step_ids: the steps that changed; since: steps changed after this moment
    (a page catching up after it connected); all_steps: every row;
    whole_table: the page shows every row, not only the first TABLE_LIMIT.
    shown: what this page shows of each step, kept by the caller between
    calls and updated here: once known, every step whose row or node differs
    from this read is sent too, whatever events said or have yet to say. The
    header, the progress, the rows and the graph so all come from one read,
    the run's before its steps' (a run that finished has its steps final).
    """
    run = Run.objects.select_related("workflow").get(pk=run_id)
    everything = step_rows(run)
    changed = _marked(everything, step_ids, since, all_steps)
    if shown is not None:
        if shown:
            marked = {step.pk for step in changed}
            changed = [step for step in everything if step.pk in marked or shown.get(step.step_id) != _shown_as(step)]
        shown.update((step.step_id, _shown_as(step)) for step in everything)
    with_timeline = with_timeline or run.is_final  # a finished run's last picture is never left out
    context = run_context(run, everything, whole_table, with_timeline=with_timeline)
    if not whole_table:
        in_table = {step.pk for step in context["table"]}
        changed_rows = [step for step in changed if step.pk in in_table]
    else:
        changed_rows = changed
    context.update(
        oob=True,
        changed=changed,
        with_timeline=with_timeline,
        changed_statuses=json.dumps({step.step_id: step.status for step in changed}),
        changed_nodes=json.dumps({step.step_id: node_state(step) for step in changed if _has_node_state(step)}),
    )
    messages = []
    if changed_rows:
        messages.append(render_to_string("runs/_live_rows.html", {**context, "changed": changed_rows}))
    messages.append(render_to_string("runs/_live.html", context))
    return messages


# --- dashboard ------------------------------------------------------------------


def dashboard_context(user) -> dict:
    runs = Run.objects.visible_to(user)
    hour_ago = timezone.now() - timedelta(hours=1)
    finished_last_hour = dict(
        runs.filter(finished__gte=hour_ago, status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED])
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "running": runs.filter(status__in=[RunStatus.PENDING, RunStatus.RUNNING]).count(),
        "succeeded": finished_last_hour.get(RunStatus.SUCCEEDED, 0),
        "failed": finished_last_hour.get(RunStatus.FAILED, 0),
        "recent": list(runs.select_related("workflow").order_by("-created", "-id")[:RECENT_RUNS]),
        "workers": list(Worker.objects.online()),
    }


def dashboard_update_html(user) -> str:
    return render_to_string("dashboard/_live.html", {**dashboard_context(user), "oob": True})
