"""What the run page and the dashboard show.

Each function here feeds both the page (rendered once) and the WebSocket
push (the same partials, swapped out of band), so the two never drift apart.
"""

import json
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from workflows.execution.models import Run, StepRun
from workflows.execution.status import RunStatus, StepStatus
from workflows.execution.workers import Worker

# The step table and the timeline leave out inputs and outputs: a run of
# thousands of steps would drag every one of them through the socket.
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
)
# Past this many steps the timeline shows the earliest ones and says so.
TIMELINE_LIMIT = 300
# The step table shows this many rows unless asked for all: thousands of rows
# would make a big run's page slow to load and to update. The graph shows all.
TABLE_LIMIT = 200
RECENT_RUNS = 15


# --- run page -------------------------------------------------------------------


def step_rows(run: Run, step_ids=None, since: datetime | None = None):
    steps = StepRun.objects.filter(run=run).only(*STEP_LIST_FIELDS).order_by("id")
    if step_ids is not None:
        steps = steps.filter(step_id__in=step_ids)
    if since is not None:
        steps = steps.filter(Q(enqueued__gte=since) | Q(started__gte=since) | Q(finished__gte=since))
    return list(steps)


def progress(run: Run) -> dict:
    """Steps by status, and how many of them have finished."""
    counts = dict(StepRun.objects.filter(run=run).values_list("status").annotate(n=Count("id")).order_by())
    total = sum(counts.values())
    finished = sum(counts.get(status, 0) for status in StepStatus.FINAL)
    segments = [
        {"status": status, "count": counts[status], "percent": 100 * counts[status] / total}
        for status in StepStatus.values
        if counts.get(status) and status != StepStatus.PENDING
    ]
    return {"total": total, "finished": finished, "segments": segments, "counts": counts}


def timeline(run: Run, steps: list[StepRun], now: datetime | None = None) -> dict:
    """Bars for a Gantt chart: each step's queue wait, then its execution, as percentages of the run's span."""
    now = now or timezone.now()
    placed = sorted((s for s in steps if s.enqueued), key=lambda s: (s.enqueued, s.id))
    shown = placed[:TIMELINE_LIMIT]
    if not shown:
        return {"rows": [], "hidden": 0, "span": None}
    origin = min(s.enqueued for s in shown)
    end = max(max(s.finished or s.started or s.enqueued for s in shown), run.finished or origin)
    if any(not s.finished for s in shown) and not run.is_final:
        end = max(end, now)
    span = max((end - origin).total_seconds(), 0.001)

    def at(moment):
        return 100 * (moment - origin).total_seconds() / span

    rows = []
    for step in shown:
        started = step.started or (step.finished if step.status in StepStatus.FINAL else None)
        waited_until = started or now
        row = {"step": step, "wait_left": at(step.enqueued), "wait_width": max(at(waited_until) - at(step.enqueued), 0)}
        if step.started:
            row["exec_left"] = at(step.started)
            row["exec_width"] = max(at(step.finished or now) - at(step.started), 0.2)
        rows.append(row)
    return {"rows": rows, "hidden": len(placed) - len(shown), "span": timedelta(seconds=span)}


def run_context(run: Run, steps: list[StepRun] | None = None, whole_table: bool = False) -> dict:
    """Everything the run page's partials need (steps: all of them, as the page shows)."""
    steps = step_rows(run) if steps is None else steps
    return {
        "table": steps if whole_table else steps[:TABLE_LIMIT],
        "whole_table": whole_table or len(steps) <= TABLE_LIMIT,
        "run": run,
        # Rows link to their step as step_base + id: a reverse() per row costs more than the rest of the row.
        "step_base": reverse("step-detail", args=[run.pk, "-"])[:-2],
        "steps": steps,
        "progress": progress(run),
        "timeline": timeline(run, steps),
        "statuses": {step.step_id: step.status for step in steps},
    }


def run_update_messages(
    run_id: int, step_ids=None, since=None, with_timeline=True, all_steps=False, whole_table=False
) -> list[str]:
    """The out-of-band fragments that bring an open run page up to date, as WebSocket messages.

    Changed table rows travel in a message of their own: the browser parses a
    fragment by its first tag, and `<tr>`s after a `<div>` would be dropped.

    step_ids: the steps that changed; since: steps changed after this moment
    (a page catching up after it connected); all_steps: every row;
    whole_table: the page shows every row, not only the first TABLE_LIMIT.
    """
    run = Run.objects.select_related("workflow").get(pk=run_id)
    everything = step_rows(run)
    if all_steps:
        changed = everything
    elif since is not None:
        changed = step_rows(run, since=since)
    elif step_ids:
        wanted = set(step_ids)
        changed = [step for step in everything if step.step_id in wanted]
    else:
        changed = []
    context = run_context(run, everything, whole_table)
    if not whole_table:
        in_table = {step.pk for step in context["table"]}
        changed_rows = [step for step in changed if step.pk in in_table]
    else:
        changed_rows = changed
    context.update(
        oob=True,
        changed=changed,
        with_timeline=with_timeline or run.is_final,  # a finished run's last picture is never left out
        changed_statuses=json.dumps({step.step_id: step.status for step in changed}),
    )
    messages = []
    if changed_rows:  # rows first: the run's header never runs ahead of its steps
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
