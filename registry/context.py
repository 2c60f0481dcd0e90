"""What a component may learn about the step it runs in."""

import threading
from dataclasses import dataclass, field


@dataclass
class StepContext:
    run_id: int = 0
    step_id: str = ""
    attempt: int = 1
    # Set when the run is cancelled or the step's timeout passes: long
    # components wait on it instead of sleeping, so they stop promptly.
    stop: threading.Event = field(default_factory=threading.Event)

    def should_stop(self) -> bool:
        return self.stop.is_set()
