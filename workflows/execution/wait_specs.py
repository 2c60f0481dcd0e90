"""What a waiting step waits for, read from its resolved inputs (registry/builtins/waits.py declares them).

Pure: no database. The engine's side (recording, ending, sweeping) is waits.py.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils.dateparse import parse_datetime

TIME = "time"
EVENT = "event"
APPROVAL = "approval"
RUN = "run"  # a sub-workflow's child run
MAP = "map"  # a map step's items (transitions/mapping.py)

# component -> the kind of wait its steps make
WAITING_COMPONENTS = {"core.wait": TIME, "core.wait_for_event": EVENT, "core.approval": APPROVAL, "core.workflow": RUN}


class BadWait(ValueError):
    """Inputs that can't make a wait (an unreadable time, neither seconds nor until)."""


@dataclass(frozen=True)
class Wait:
    """A step's wait: its kind, its deadline (None: forever), and what its kind needs (event name, message…)."""

    kind: str
    until: datetime | None
    details: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"kind": self.kind, "until": self.until.isoformat() if self.until else None, **self.details}


def wait_of(component: str, inputs: dict, now: datetime, step=None) -> Wait:
    """The wait a step of this waiting component makes with these (schema-checked) inputs.

    `step` (its StepSpec) names a sub-workflow step's child workflow and version.
    """
    kind = WAITING_COMPONENTS[component]
    if kind == RUN:
        return Wait(RUN, None, {"workflow": step.workflow, "version": step.workflow_version})
    if kind == TIME:
        return Wait(TIME, _time_until(inputs, now))
    until = _after(inputs.get("timeout_seconds"), now)
    if kind == EVENT:
        return Wait(EVENT, until, {"event": inputs["event"]})
    details = {
        "message": inputs.get("message", ""),
        "on_timeout": inputs.get("on_timeout", "reject"),
        "on_reject": inputs.get("on_reject", "fail"),
    }
    return Wait(APPROVAL, until, details)


def _time_until(inputs: dict, now: datetime) -> datetime:
    has_seconds, has_until = inputs.get("seconds") is not None, inputs.get("until") is not None
    if has_seconds == has_until:
        raise BadWait("core.wait takes either `seconds` or `until`")
    if has_seconds:
        return _after(inputs["seconds"], now)
    until = parse_datetime(inputs["until"])
    if until is None:
        raise BadWait(f"until: {inputs['until']!r} is not an ISO 8601 date and time")
    if until.tzinfo is None:
        raise BadWait(f"until: {inputs['until']!r} has no time zone (add Z or +01:00)")
    return until


def _after(seconds, now: datetime) -> datetime | None:
    return None if seconds is None else now + timedelta(seconds=float(seconds))
