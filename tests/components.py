"""Components that misbehave on purpose, for the engine's fault tests.

Loaded through OAWEB_COMPONENT_MODULES (tests/settings.py), in the test
process and in the runworker processes the distributed tests start.
"""

import threading

from registry.catalog import ComponentError, component

_calls = {}
_calls_lock = threading.Lock()


@component("test.raise", kind="tool", inputs={"type": "object"}, outputs={"type": "object"})
def raise_error(message: str = "boom") -> dict:
    raise ComponentError(message)


@component("test.hang", kind="tool", inputs={"type": "object"}, outputs={"type": "object"})
def hang(seconds: float = 3600) -> dict:
    """Ignores context.stop: only the step timeout gets rid of it."""
    threading.Event().wait(seconds)
    return {}


@component("test.not_json", kind="tool", inputs={"type": "object"}, outputs={"type": "object"})
def not_json() -> dict:
    return {"value": object()}


@component("test.not_a_dict", kind="tool", inputs={"type": "object"}, outputs={"type": "object"})
def not_a_dict() -> list:
    return [1, 2, 3]


@component(
    "test.bad_output",
    kind="tool",
    inputs={"type": "object"},
    outputs={"type": "object", "properties": {"count": {"type": "integer"}}, "required": ["count"]},
)
def bad_output() -> dict:
    return {"count": "three"}


class Counter:
    """A class component: counts how often it was built in this process."""

    instances = 0

    def __init__(self):
        Counter.instances += 1
        self.calls = 0

    def __call__(self) -> dict:
        self.calls += 1
        return {"instances": Counter.instances, "calls": self.calls}


component(
    "test.counter",
    kind="tool",
    inputs={"type": "object", "properties": {}},
    outputs={
        "type": "object",
        "properties": {"instances": {"type": "integer"}, "calls": {"type": "integer"}},
    },
)(Counter)


@component(
    "test.fail_first_time",
    kind="tool",
    inputs={"type": "object", "properties": {"marker": {"type": "string"}}, "required": ["marker"]},
    outputs={"type": "object", "properties": {"second_time": {"type": "boolean"}}},
)
def fail_first_time(marker: str) -> dict:
    """Fails until the marker file exists (it creates it): shared by every worker process."""
    from pathlib import Path

    path = Path(marker)
    if not path.exists():
        path.touch()
        raise ComponentError("first time: failing on purpose")
    return {"second_time": True}


@component(
    "test.wait_for_stop",
    kind="tool",
    inputs={"type": "object", "properties": {"marker": {"type": "string"}}, "required": ["marker"]},
    outputs={"type": "object"},
)
def wait_for_stop(marker: str, context=None) -> dict:
    """Waits up to a minute for context.stop, then writes how long it waited to `marker`."""
    import time
    from pathlib import Path

    started = time.monotonic()
    stopped = context.stop.wait(60)
    # Written then renamed, so a test polling for the file never reads it half-written.
    partial = Path(marker + ".partial")
    partial.write_text(f"{stopped} {time.monotonic() - started:.3f}")
    partial.replace(marker)
    return {}


@component(
    "test.limited",
    kind="tool",
    inputs={"type": "object"},
    outputs={"type": "object"},
    rate_limit="5/s",
)
def limited() -> dict:
    return {}
