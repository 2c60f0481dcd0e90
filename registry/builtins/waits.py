"""core.wait, core.wait_for_event, core.approval, core.workflow: steps that wait while holding no worker.

The engine runs these itself (workflows/execution/waits.py): a worker
resolves the step's inputs, records the step as `waiting` with what it
waits for, and lets it go. What ends the wait (the time, the event posted
to the API, a person's decision, or the deadline) records the outputs
declared here. The functions below only run when a component is called
outside the engine (a test calling it directly): they say so.
"""

from registry.catalog import ComponentError, component

# A wait's longest deadline: a year. Longer waits are a schedule's job.
MAX_WAIT_SECONDS = 365 * 86400

_UNTIL = {"type": "string", "format": "date-time", "description": "Wait until this time (ISO 8601, with a zone)."}
_TIMEOUT = {
    "type": "number",
    "exclusiveMinimum": 0,
    "maximum": MAX_WAIT_SECONDS,
    "description": "Seconds to wait at most.",
}


def _engine_only(name: str) -> dict:
    raise ComponentError(f"{name} waits in the engine: it is not called as a function")


@component(
    "core.wait",
    kind="tool",
    inputs={
        "type": "object",
        "properties": {
            "seconds": {
                "type": "number",
                "minimum": 0,
                "maximum": MAX_WAIT_SECONDS,
                "description": "How long to wait.",
            },
            "until": _UNTIL,
        },
        "additionalProperties": False,
    },
    outputs={
        "type": "object",
        "properties": {"waited_until": {"type": "string", "description": "When the wait ended (ISO 8601)."}},
        "required": ["waited_until"],
    },
    tags=("core", "wait"),
)
def wait(seconds: float | None = None, until: str | None = None) -> dict:
    """Wait for a duration (`seconds`) or until a time (`until`), holding no worker."""
    return _engine_only("core.wait")


@component(
    "core.wait_for_event",
    kind="tool",
    inputs={
        "type": "object",
        "properties": {
            "event": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_.:-]{1,100}$",
                "description": "The event's name, as posted to POST /api/v1/runs/{id}/events/{name}.",
            },
            "timeout_seconds": _TIMEOUT,
        },
        "required": ["event"],
        "additionalProperties": False,
    },
    outputs={
        "type": "object",
        "properties": {
            "event": {"type": "string"},
            "payload": {"description": "The JSON body the event was posted with."},
        },
        "required": ["event", "payload"],
    },
    tags=("core", "wait"),
)
def wait_for_event(event: str, timeout_seconds: float | None = None) -> dict:
    """Wait for a named event posted to the run (API or webhook); its payload becomes the output."""
    return _engine_only("core.wait_for_event")


@component(
    "core.approval",
    kind="tool",
    inputs={
        "type": "object",
        "properties": {
            "message": {"type": "string", "maxLength": 10000, "description": "What the person decides on."},
            "timeout_seconds": _TIMEOUT,
            "on_timeout": {
                "enum": ["reject", "approve"],
                "default": "reject",
                "description": "The decision when nobody decided in time.",
            },
            "on_reject": {
                "enum": ["fail", "continue"],
                "default": "fail",
                "description": "A rejection fails the step (and skips what follows), or succeeds with approved false.",
            },
        },
        "additionalProperties": False,
    },
    outputs={
        "type": "object",
        "properties": {
            "approved": {"type": "boolean"},
            "by": {"type": "string", "description": "Who decided; empty when the timeout did."},
            "comment": {"type": "string"},
            "decided_at": {"type": "string"},
        },
        "required": ["approved", "by", "comment", "decided_at"],
    },
    tags=("core", "wait"),
)
def approval(
    message: str = "", timeout_seconds: float | None = None, on_timeout: str = "reject", on_reject: str = "fail"
) -> dict:
    """Wait for a person of the run's team to approve or reject (run page, API or a signed link)."""
    return _engine_only("core.approval")


@component(
    "core.workflow",
    kind="tool",
    inputs={"type": "object", "description": "The child workflow's inputs."},
    outputs={"type": "object", "description": "The child run's outputs."},
    tags=("core", "wait"),
)
def workflow(**inputs) -> dict:
    """Run another workflow as a child run (a step written with `workflow` instead of `component`)."""
    return _engine_only("core.workflow")
