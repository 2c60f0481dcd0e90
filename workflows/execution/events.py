"""Live events: every status change of a run or a step, pushed to Channels.

Groups: `run-<id>` for one run's page, `dashboard` for everything. The
schema is documented in docs/events.md (a public contract).

Events are frozen records (RunEvent, StepEvent, StepsEvent, StepLogEvent) until the
publisher hands them to the channel layer: there, and only there, each
becomes its dict (`as_message`). A consumer reads a received dict back with
`Event.from_message`.

The step path only drops an event into an in-memory buffer; one publisher
thread per process sends them through one long-lived event loop and channel
layer connection. Bursts are coalesced: an entity (a run, or one step of a
run) changed five times in 50 ms is sent once, in its latest state. The
buffer is bounded, and a failure to publish is logged, never raised: live
updates are a view, the database is the truth.
"""

import asyncio
import logging
import threading
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, ClassVar

from channels_redis.core import RedisChannelLayer

from workflows.execution.messages import StepState

if TYPE_CHECKING:
    from workflows.execution.models import Run, StepRun  # annotations only

log = logging.getLogger(__name__)

DASHBOARD_GROUP = "dashboard"
MESSAGE_TYPE = "oaweb.event"  # consumers implement `oaweb_event(self, message)`
COALESCE_SECONDS = 0.05
MAX_BUFFERED = 10_000


def run_group(run_id: int) -> str:
    return f"run-{run_id}"


def _iso(moment):
    return moment.isoformat() if moment else None


class Event:
    """A live event: a frozen record in the engine, a dict (`as_message`) on the wire.

    Each kind's fields, in order, are its keys in docs/events.md after
    `type`; `at` (last) is stamped by the Publisher when the event is
    published. Timestamps are kept as their ISO strings, as they travel.
    """

    __slots__ = ()
    type: ClassVar[str]

    @property
    def key(self) -> tuple:
        """What coalesces: a newer event with the same key replaces an unsent older one."""
        return (self.type, self.run, None)

    @property
    def groups(self) -> tuple[str, ...]:
        """Where it is sent: its run's page and the dashboard."""
        return (run_group(self.run), DASHBOARD_GROUP)

    def as_message(self) -> dict:
        """The event as the channel layer carries it (docs/events.md, a public contract)."""
        return {"type": self.type, **{field.name: getattr(self, field.name) for field in fields(self)}}

    @classmethod
    def from_message(cls, message: dict) -> "Event | None":
        """The typed event of `as_message()`'s dict; None for a type this code doesn't know, or a malformed one.

        Keys an event doesn't have are ignored (a newer publisher may add some).
        """
        kind = EVENT_TYPES.get(message.get("type"))
        if kind is None or not issubclass(kind, cls):
            return None
        try:
            return kind(**{field.name: message[field.name] for field in fields(kind) if field.name in message})
        except TypeError:
            log.warning("ignoring a malformed %s event: %r", kind.type, message)
            return None


@dataclass(frozen=True, slots=True)
class RunEvent(Event):
    """A run changed."""

    type: ClassVar[str] = "run"
    run: int
    workflow: int
    status: str
    error: str
    created: str | None
    started: str | None
    finished: str | None
    at: float | None = None

    @classmethod
    def of(cls, run: "Run") -> "RunEvent":
        return cls(
            run=run.pk,
            workflow=run.workflow_id,
            status=run.status,
            error=run.error,
            created=_iso(run.created),
            started=_iso(run.started),
            finished=_iso(run.finished),
        )


@dataclass(frozen=True, slots=True)
class StepEvent(Event):
    """A step changed."""

    type: ClassVar[str] = "step"
    run: int
    step: str
    status: str
    attempt: int
    worker: str
    error: str
    enqueued: str | None
    started: str | None
    finished: str | None
    at: float | None = None

    @property
    def key(self) -> tuple:
        return (self.type, self.run, self.step)

    @classmethod
    def of(cls, step_run: "StepRun | StepState") -> "StepEvent":
        """From a StepRun row or a StepState record: they have the same fields."""
        return cls(
            run=step_run.run_id,
            step=step_run.step_id,
            status=step_run.status,
            attempt=step_run.attempt,
            worker=step_run.worker,
            error=step_run.error,
            enqueued=_iso(step_run.enqueued),
            started=_iso(step_run.started),
            finished=_iso(step_run.finished),
        )


@dataclass(frozen=True, slots=True)
class StepsEvent(Event):
    """Many steps of a run changed at once (cancel, skipped descendants): listeners re-read the run."""

    type: ClassVar[str] = "steps"
    run: int
    at: float | None = None


@dataclass(frozen=True, slots=True)
class StepLogEvent(Event):
    """New lines of a step attempt's log (workflows/execution/step_logs.py), a batch at most every 0.5 s."""

    type: ClassVar[str] = "step.log"
    run: int
    step: str
    attempt: int
    first: int  # the number of lines[0] in the attempt's log, from 0: a gap or a repeat shows
    lines: tuple[str, ...]
    at: float | None = None

    @property
    def key(self) -> tuple:
        # Never coalesced: each batch holds other lines than the one before.
        return (self.type, self.run, self.step, self.attempt, self.first)

    @property
    def groups(self) -> tuple[str, ...]:
        return (run_group(self.run),)  # the dashboard shows no logs


EVENT_TYPES: dict[str, type[Event]] = {kind.type: kind for kind in (RunEvent, StepEvent, StepsEvent, StepLogEvent)}


def run_changed(run: "Run") -> None:
    publish(RunEvent.of(run))


def step_changed(step_run: "StepRun | StepState") -> None:
    publish(StepEvent.of(step_run))


def steps_changed(run_id: int) -> None:
    """Many steps of a run changed at once (cancel, skipped descendants): listeners re-read the run."""
    publish(StepsEvent(run=run_id))


def default_layer():
    from channels.layers import get_channel_layer

    return get_channel_layer()


class Publisher:
    def __init__(self, get_layer=default_layer):
        self.get_layer = get_layer
        self._pending: OrderedDict[tuple, Event] = OrderedDict()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread = None
        self.dropped = 0
        self.sent = 0

    def publish(self, event: Event) -> None:
        event = replace(event, at=time.time())
        with self._lock:
            key = event.key
            self._pending.pop(key, None)
            self._pending[key] = event  # latest state wins, moved to the back
            while len(self._pending) > MAX_BUFFERED:
                self._pending.popitem(last=False)
                self.dropped += 1
        self._wake.set()
        if self._thread is None or not self._thread.is_alive():
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="oaweb-events", daemon=True)
                self._thread.start()

    def _take(self) -> list[Event]:
        with self._lock:
            events = list(self._pending.values())
            self._pending.clear()
            self._wake.clear()
        return events

    def _put_back(self, events: list[Event]) -> None:
        """Unsent events wait for the next try, unless a newer state of the same entity came in."""
        with self._lock:
            for event in events:
                self._pending.setdefault(event.key, event)
            while len(self._pending) > MAX_BUFFERED:
                self._pending.popitem(last=False)
                self.dropped += 1
        self._wake.set()

    def _run(self) -> None:
        # One loop for the thread's life: the layer keeps its connections in it.
        loop = asyncio.new_event_loop()
        try:
            self._publish_until_closed(loop)
        finally:
            loop.close()

    def _publish_until_closed(self, loop) -> None:
        layer = None
        backoff = 0.1
        while not self._closed.is_set():
            self._wake.wait()
            time.sleep(COALESCE_SECONDS)  # let a burst gather
            events = self._take()
            if not events or self._closed.is_set():
                continue
            try:
                if layer is None:
                    layer = self.get_layer()
                if layer is not None:
                    loop.run_until_complete(_send_all(layer, events))
                self.sent += len(events)
                backoff = 0.1
            except Exception:
                log.warning("publishing %d events failed; retrying in %.1f s", len(events), backoff, exc_info=True)
                self._put_back(events)
                self._closed.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                layer = None

    def close(self) -> None:
        """Stop the publisher thread (tests' throwaway publishers)."""
        self._closed.set()
        self._wake.set()

    def flush(self, timeout: float = 2.0) -> None:
        """Wait until the buffer is empty (tests)."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            time.sleep(0.01)


async def _send_all(layer, events: list[Event]) -> None:
    targets = [(event, event.groups) for event in events]
    listened = await listened_groups(layer, {group for _, groups in targets for group in groups})
    for event, groups in targets:
        # The one place an event becomes a dict: channel messages are msgpack-able dicts.
        message = {"type": MESSAGE_TYPE, "event": event.as_message()}
        for group in groups:
            if listened is None or group in listened:
                await layer.group_send(group, message)


async def listened_groups(layer, groups: set[str]) -> set[str] | None:
    """Which of `groups` have members now: one Redis round trip per shard. None: the layer can't say.

    channels_redis spends two round trips on a group before it learns whether
    anyone is in it, and most runs have no page open: asking once per flush
    saves them. A consumer that joins just after the question misses this
    flush, as it would have had it joined just after the send; a socket
    catches up from the database when it connects (docs/events.md).
    """
    if not isinstance(layer, RedisChannelLayer) or not hasattr(layer, "_group_key"):
        return None  # _group_key is channels_redis's own: if a release drops it, send everything
    by_shard: dict[int, list[str]] = defaultdict(list)
    for group in groups:
        by_shard[layer.consistent_hash(group)].append(group)
    listened = set()
    for shard, names in by_shard.items():
        pipe = layer.connection(shard).pipeline(transaction=False)
        for name in names:
            pipe.zcard(layer._group_key(name))
        counts = await pipe.execute()
        listened.update(name for name, count in zip(names, counts, strict=True) if count)
    return listened


publisher = Publisher()


def publish(event: Event) -> None:
    try:
        publisher.publish(event)
    except Exception:  # never fail a step because of a live update
        log.warning("could not buffer an event", exc_info=True)
