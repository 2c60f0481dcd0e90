"""What a waiting step waits for, in words: its row and graph node on the run page say it.

Pure: the step's `wait` (workflows/execution/wait_specs.py, and the map's
{"kind": "map", ...}) and its `wait_until` in, text out. The step panel's
longer account with its buttons is templates/runs/_wait.html.
"""

from datetime import datetime

from django.utils import timezone

TIME, EVENT, APPROVAL, RUN, MAP = "time", "event", "approval", "run", "map"


def deadline(until: datetime | None) -> str:
    """`2026-12-07 16:24 UTC` in the site's time zone (an absolute time: a page left open stays right)."""
    if until is None:
        return ""
    return timezone.localtime(until).strftime("%Y-%m-%d %H:%M %Z")


def waits_for(wait: dict | None, until: datetime | None = None) -> str:
    """What follows "waiting for": `approval until 2026-12-07 16:24 UTC`, `child run #12`…; "" without a wait."""
    if not isinstance(wait, dict):
        return ""
    kind = wait.get("kind")
    if kind == TIME:
        return f"the time {deadline(until)}" if until else "the time"
    if kind == EVENT:
        what = f'event "{wait.get("event", "")}"'
    elif kind == APPROVAL:
        what = "approval"
    elif kind == RUN:
        what = f"child run #{wait['run']}" if wait.get("run") else "its child run to start"
    elif kind == MAP:
        return _map_wait(wait)
    else:
        what = str(kind or "something")
    return f"{what} until {deadline(until)}" if until else what


def _map_wait(wait: dict) -> str:
    items = wait.get("items") or 0
    what = f"its {items} item{'' if items == 1 else 's'}"
    if wait.get("concurrency"):
        what += f", {wait['concurrency']} at a time"
    return what


def short(wait: dict | None, until: datetime | None = None) -> str:
    """What a graph node's second line holds (about 20 characters): `approval · 16:24`, `run #12`."""
    if not isinstance(wait, dict):
        return ""
    kind = wait.get("kind")
    what = {
        TIME: "until",
        EVENT: f"event {wait.get('event', '')}",
        APPROVAL: "approval",
        RUN: f"run #{wait['run']}" if wait.get("run") else "child run",
    }.get(kind, str(kind or ""))
    if until is None:
        return what
    local = timezone.localtime(until)
    moment = local.strftime("%H:%M") if local.date() == timezone.localdate() else local.strftime("%m-%d %H:%M")
    return f"{what} {moment}" if kind == TIME else f"{what} · {moment}"


def child_run(wait: dict | None) -> int | None:
    """The child run a sub-workflow step waits for (or waited for last): its id."""
    if isinstance(wait, dict) and wait.get("kind") == RUN and isinstance(wait.get("run"), int):
        return wait["run"]
    return None
