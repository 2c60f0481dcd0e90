"""What a component may learn about the step it runs in, and how it writes to the step's log."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar


@dataclass
class StepContext:
    run_id: int = 0
    step_id: str = ""
    attempt: int = 1
    # Set when the run is cancelled or the step's timeout passes: long
    # components wait on it instead of sleeping, so they stop promptly.
    stop: threading.Event = field(default_factory=threading.Event)
    # The engine's buffer of this attempt's log lines, made on the first line
    # (workflows/execution/step_logs.py): a step that logs nothing costs nothing.
    log_buffer: object = field(default=None, repr=False, compare=False)
    # Set by the engine when it loads (the registry knows nothing of it): writes
    # text to a context's log. Unset, as when a test calls a component by hand,
    # log() keeps nothing.
    log_writer: ClassVar[Callable[["StepContext", str], None] | None] = None

    def should_stop(self) -> bool:
        return self.stop.is_set()

    def log(self, *parts) -> None:
        """Write a line to this attempt's log (parts joined by spaces; text with newlines makes several lines).

        The lines show on the run page as they come and are stored with the
        attempt; Python's `logging` used in the component lands there too.
        """
        writer = StepContext.log_writer
        if writer is not None:
            writer(self, " ".join(str(part) for part in parts))
