"""What passes between the engine's functions and over the broker: frozen, typed records.

A record becomes a dict only at an edge (a Celery message's kwargs, an event).
"""

from dataclasses import dataclass, replace
from datetime import datetime

from workflows.definitions.references import Item


@dataclass(frozen=True)
class StepMessage:
    """A step on its way to a worker: the Celery task's arguments."""

    step_run_id: int
    component: str = ""
    queue: str = "default"
    priority: int = 5
    # The backoff waited before this attempt (seconds), for its attempt row.
    delay: float = 0.0
    # Outputs of the steps it reads, when its parent sent them along.
    upstream: dict | None = None
    # True once the component's rate-limit slot is reserved (the message came back for it).
    slot: bool = False
    # Seconds before a worker may take it (a retry's backoff, a rate limit's slot).
    countdown: float = 0.0
    # Known to the sender (for its events and hand-offs); not sent: the row has it.
    step_id: str = ""

    def task_kwargs(self) -> dict:
        kwargs: dict = {"component": self.component}
        if self.delay:
            kwargs["delay"] = self.delay
        if self.upstream:
            kwargs["upstream"] = self.upstream
        if self.slot:
            kwargs["slot"] = True
        return kwargs

    def for_slot(self, wait: float) -> "StepMessage":
        """The same step, come back when its rate-limit slot is due."""
        return replace(self, slot=True, countdown=wait)

    def with_upstream(self, upstream: dict | None) -> "StepMessage":
        return replace(self, upstream=upstream) if upstream else self


@dataclass(frozen=True)
class ClaimedStep:
    """A step this worker holds (status running, this attempt), with what it needs of its run."""

    step_run_id: int
    run_id: int
    step_id: str
    component: str
    attempt: int
    queue: str
    priority: int
    worker: str
    task_id: str
    started: datetime
    run_inputs: dict
    version_id: int
    version_hash: str
    delay: float = 0.0
    # A map's item (issue 19): its map step's row, and its value and position for `{{ item }}`.
    map_step_run_id: int | None = None
    item: Item | None = None


@dataclass(frozen=True)
class StepState:
    """A step's status as events show it (the same fields as a StepRun row)."""

    run_id: int
    step_id: str
    status: str
    attempt: int = 0
    worker: str = ""
    error: str = ""
    enqueued: datetime | None = None
    started: datetime | None = None
    finished: datetime | None = None

    @classmethod
    def of_claimed(cls, claimed: ClaimedStep, status: str, finished=None, error: str = "") -> "StepState":
        return cls(
            run_id=claimed.run_id,
            step_id=claimed.step_id,
            status=status,
            attempt=claimed.attempt,
            worker=claimed.worker,
            error=error,
            started=claimed.started,
            finished=finished,
        )


@dataclass(frozen=True)
class Advance:
    """What a recorded transition leads to, for after its commit."""

    recorded: bool  # False: the step was no longer this attempt's (cancelled, reaped)
    recorded_ids: frozenset[int] = frozenset()  # of a batch, the step runs recorded
    ready: tuple[StepMessage, ...] = ()  # to publish
    continued: tuple[ClaimedStep, ...] = ()  # already claimed by this worker: run them now
    finished_run: object | None = None  # the Run, when this finished it (for its event)
    started_run: object | None = None  # a child run this created (a sub-workflow step), for its event
    changed: tuple[StepState, ...] = ()  # for the live events
    skipped_below: bool = False  # descendants were skipped: listeners re-read the run
    delivered: dict | None = None  # a waiting step's outputs already there (an event posted early): end it now

    @classmethod
    def not_recorded(cls) -> "Advance":
        return cls(recorded=False)
