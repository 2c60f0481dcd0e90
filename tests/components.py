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


@component(
    "test.log",
    kind="tool",
    inputs={
        "type": "object",
        "properties": {
            "said": {"type": "array", "items": {"type": "string"}},
            "logged": {"type": "array", "items": {"type": "string"}},
            "repeat": {"type": "integer", "minimum": 1},
            "wait_for": {"type": "string"},
            "tick": {"type": "number", "exclusiveMinimum": 0},
            "tick_line": {"type": "string"},
            "fail": {"type": "boolean"},
        },
    },
    outputs={"type": "object"},
)
def write_log(
    said=(),
    logged=(),
    repeat: int = 1,
    wait_for: str = "",
    tick: float = 0.05,
    tick_line: str = "",
    fail: bool = False,
    context=None,
) -> dict:
    """Writes `said` with context.log and `logged` with Python's logging (`repeat` times over; "{attempt}"
    in a line becomes the attempt's number).

    Then, with `wait_for`, waits (up to a minute, or a cancel) until that file exists, writing
    `tick_line` ("{n}" in it: 1, 2, ...) every `tick` seconds meanwhile, then "released"; with
    `fail`, raises after writing.
    """
    import logging
    import time
    from pathlib import Path

    logger = logging.getLogger("tests.components")
    for _ in range(repeat):
        for line in said:
            context.log(line.replace("{attempt}", str(context.attempt)))
        for line in logged:
            logger.info(line.replace("{attempt}", str(context.attempt)))
    if wait_for:
        deadline, ticks = time.monotonic() + 60, 0
        while not Path(wait_for).exists() and time.monotonic() < deadline and not context.stop.wait(tick):
            ticks += 1
            if tick_line:
                context.log(tick_line.replace("{n}", str(ticks)))
        context.log("released")
    if fail:
        raise ComponentError("failing after logging, on purpose")
    return {}


@component(
    "test.interval",
    kind="tool",
    inputs={
        "type": "object",
        "properties": {"folder": {"type": "string"}, "name": {}, "seconds": {"type": "number"}},
        "required": ["folder", "name"],
    },
    outputs={"type": "object"},
)
def interval(folder: str, name, seconds: float = 0.1) -> dict:
    """Sleeps, and writes when it started and ended to `folder`/`name`: concurrency seen from every process."""
    import time
    from pathlib import Path

    started = time.time()
    time.sleep(seconds)
    Path(folder, str(name)).write_text(f"{started} {time.time()}")
    return {"name": name}
