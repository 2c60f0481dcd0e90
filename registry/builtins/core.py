"""core.*: components for wiring and for showing how the engine behaves."""

import time

from registry.catalog import ComponentError, component
from registry.context import StepContext

MAX_SLEEP_SECONDS = 86400


@component(
    "core.noop",
    kind="transform",
    inputs={"type": "object"},
    outputs={"type": "object"},
    tags=("core",),
)
def noop(**inputs) -> dict:
    """Return the inputs unchanged."""
    return inputs


@component(
    "core.sleep",
    kind="tool",
    inputs={
        "type": "object",
        "properties": {
            "seconds": {"type": "number", "minimum": 0, "maximum": MAX_SLEEP_SECONDS, "description": "How long."}
        },
        "required": ["seconds"],
        "additionalProperties": False,
    },
    outputs={
        "type": "object",
        "properties": {"slept": {"type": "number", "description": "Seconds actually waited."}},
        "required": ["slept"],
    },
    tags=("core",),
)
def sleep(seconds: float, context: StepContext | None = None) -> dict:
    """Wait `seconds`; a cancelled run or a step timeout ends the wait at once."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= MAX_SLEEP_SECONDS:
        raise ComponentError(f"core.sleep: seconds must be a number from 0 to {MAX_SLEEP_SECONDS}, got {seconds!r}")
    context = context or StepContext()
    started = time.monotonic()
    # Waiting on the step's stop event, not time.sleep, so a cancel or a
    # timeout frees the worker thread promptly.
    stopped = context.stop.wait(seconds)
    slept = round(time.monotonic() - started, 3)
    if stopped:
        raise ComponentError(
            f"core.sleep: stopped after {slept} of {seconds} seconds (run cancelled or step timed out)"
        )
    return {"slept": slept}


@component(
    "core.fail",
    kind="tool",
    inputs={
        "type": "object",
        "properties": {
            "times": {"type": "integer", "minimum": 0, "default": 1, "description": "Attempts that fail."},
            "message": {"type": "string", "default": "planned failure", "description": "The error raised."},
        },
        "additionalProperties": False,
    },
    outputs={
        "type": "object",
        "properties": {"attempts": {"type": "integer", "description": "The attempt that succeeded."}},
        "required": ["attempts"],
    },
    tags=("core",),
)
def fail(times: int = 1, message: str = "planned failure", context: StepContext | None = None) -> dict:
    """Fail the first `times` attempts, then succeed: shows retries at work."""
    context = context or StepContext()
    if context.attempt <= times:
        raise ComponentError(f"{message} (attempt {context.attempt} of {times} planned failures)")
    return {"attempts": context.attempt}
