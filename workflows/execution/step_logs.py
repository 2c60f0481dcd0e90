"""Step logs: the lines a component writes, kept per attempt, pushed live, stored with the attempt's row.

A component writes lines with `context.log(...)` (registry/context.py) or
with Python's `logging`: one handler on the root logger sends a record to
the attempt whose component runs in the record's thread (the call thread,
marked by `attach` around the call), and ignores every other record, the
worker's own included.

A step that logs nothing costs nothing: its buffer (AttemptLog) is made on
its first line, and `close` answers "" without it; no write, Redis call or
event. Lines are redacted (workflows/redaction.py) and bounded by
OAWEB_STEP_LOG_BYTES: past it they are dropped and one TRUNCATED line ends
the log. While the step runs, new lines go to its run page as StepLogEvents
(events.py), at most every LIVE_INTERVAL seconds per attempt; when it ends,
the runner stores the text with the attempt's row, in the transition that
records it (transitions/), or, if someone else ended the attempt first (a
cancel, the reaper), into that row afterwards (`store_unrecorded`).
"""

import logging
import os
import threading
import time

from django.conf import settings

from registry.context import StepContext
from workflows.execution import events
from workflows.execution.connections import retrying
from workflows.execution.models import StepAttempt
from workflows.redaction import redact

log = logging.getLogger(__name__)

TRUNCATED = "… truncated"
LIVE_INTERVAL = 0.5  # seconds between two batches of one attempt's lines on its run page
# A batch's lines: well under the embedded relay's datagram (web/layers.py, 64 KB) and a page's appetite.
MAX_EVENT_BYTES = 32 * 1024
FORMAT = "%(levelname)s %(name)s: %(message)s"

_local = threading.local()  # .context: the StepContext whose component runs in this thread


class AttemptLog:
    """One attempt's lines: bounded, redacted, and how many of them were sent live."""

    def __init__(self, context: StepContext, limit: int):
        self.run_id, self.step_id, self.attempt = context.run_id, context.step_id, context.attempt
        self.limit = limit
        self.lines: list[str] = []
        self.size = 0  # bytes of the stored text: the lines' UTF-8 and the newlines between them
        self.truncated = False
        self.closed = False
        self.sent = 0  # lines already published
        self.last_sent = float("-inf")  # time.monotonic() of the last batch
        self.waiting = False  # in `batches`, to be sent LIVE_INTERVAL after the last batch
        self.lock = threading.Lock()

    def add(self, text: str) -> bool:
        """Keep the text's lines within the bound; whether anything was kept."""
        with self.lock:
            if self.closed or self.truncated:
                return False
            for line in clean(text).splitlines() or [""]:
                cost = len(line.encode()) + (1 if self.lines else 0)
                if self.size + cost > self.limit:
                    self.truncated = True
                    self.lines.append(TRUNCATED)
                    return True
                self.lines.append(line)
                self.size += cost
            return True

    def send(self, everything: bool = False) -> bool:
        """Publish the lines not sent yet: one batch, or all of them (the attempt ended).

        False, sending nothing, when the last batch went less than LIVE_INTERVAL
        ago (unless `everything`). Under the lock, so that two threads never
        publish batches out of order, nor two within the interval.
        """
        with self.lock:
            if not everything and time.monotonic() - self.last_sent < LIVE_INTERVAL:
                return False
            while self.sent < len(self.lines):
                first, size, end = self.sent, 0, self.sent
                while end < len(self.lines) and (end == first or size < MAX_EVENT_BYTES):
                    size += len(self.lines[end].encode()) + 1
                    end += 1
                batch = tuple(self.lines[first:end])
                self.sent, self.last_sent = end, time.monotonic()
                event = events.StepLogEvent(self.run_id, self.step_id, self.attempt, first, batch)
                events.publish(event)
                if not everything:
                    break
            return True

    def text(self) -> str:
        with self.lock:
            self.closed = True
            return "\n".join(self.lines)


def clean(text: str) -> str:
    """Text the database can hold (no NUL, no lone surrogate) with its secrets masked."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    if not text.isascii():
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return redact(text)


_created = threading.Lock()


def write(context: StepContext, text: str) -> None:
    """Add text to the context's attempt log; send it now, or with the attempt's next batch."""
    buffer = context.log_buffer
    if buffer is None:
        with _created:  # two threads of one component may write their first lines together
            if context.log_buffer is None:
                context.log_buffer = AttemptLog(context, settings.OAWEB_STEP_LOG_BYTES)
            buffer = context.log_buffer
    if buffer.add(text) and not buffer.send() and not buffer.waiting:
        batches.later(buffer)


def close(context: StepContext) -> str:
    """The attempt's log as stored ("" when it logged nothing), its last lines sent; later lines are dropped."""
    buffer = context.log_buffer
    if buffer is None:
        return ""
    text = buffer.text()
    try:
        buffer.send(everything=True)
    except Exception:  # a live update is a view: never fail a step for it
        log.warning("could not send the last lines of a step log", exc_info=True)
    return text


def store_unrecorded(step_run_id: int, attempt: int, text: str) -> None:
    """Lines of an attempt whose row someone else wrote (a cancel, the reaper): added to that row.

    The only write of its own this module makes, and only when there are lines.
    """
    if not text:
        return
    rows = StepAttempt.objects.filter(step_run_id=step_run_id, number=attempt, log="")
    try:
        retrying(rows.update, log=text)
    except Exception:  # the outcome is recorded; its log is a nicety
        log.warning("could not store the log of attempt %s of step run %s", attempt, step_run_id, exc_info=True)


def stored(step_run_id: int, attempt: int | None = None) -> list[tuple[int, str, list[str]]]:
    """(number, status, lines) of the step's attempts whose rows exist (ended), oldest first, or of one."""
    rows = StepAttempt.objects.filter(step_run_id=step_run_id).order_by("number")
    if attempt is not None:
        rows = rows.filter(number=attempt)
    return [
        (number, status, text.split("\n") if text else [])
        for number, status, text in rows.values_list("number", "status", "log")
    ]


# --- the component's thread and Python's logging -------------------------------------


def attach(context: StepContext) -> None:
    """This thread now runs `context`'s component: its log records go to that attempt."""
    if _handler not in logging.root.handlers:  # (re)installed: Celery's start may reset the root logger
        logging.root.addHandler(_handler)
    _local.context = context


def detach() -> None:
    _local.context = None


class CaptureHandler(logging.Handler):
    """Routes a record logged in a component's call thread to that attempt's log; ignores all others."""

    def __init__(self):
        super().__init__()
        self.setFormatter(logging.Formatter(FORMAT))

    def handle(self, record: logging.LogRecord) -> bool:
        # Without Handler.handle's lock: every record of the process comes here, and most are not ours.
        context = getattr(_local, "context", None)
        if context is None:
            return False
        _local.context = None  # a record logged while writing this one (events' warnings) is not captured
        try:
            write(context, self.format(record))
        except Exception:
            self.handleError(record)
        finally:
            _local.context = context
        return True

    def emit(self, record: logging.LogRecord) -> None:  # handle() does the work
        pass


_handler = CaptureHandler()


# --- batches: the lines that come within LIVE_INTERVAL of the last batch -------------------


class Batches:
    """One thread per process sends each attempt's waiting lines LIVE_INTERVAL after its last batch."""

    def __init__(self):
        self._waiting: set[AttemptLog] = set()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def later(self, buffer: AttemptLog) -> None:
        with self._wake:
            buffer.waiting = True
            self._waiting.add(buffer)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="oaweb-step-logs", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._waiting:
                    self._wake.wait()
                due = min(buffer.last_sent for buffer in self._waiting) + LIVE_INTERVAL
                wait = due - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                now = time.monotonic()
                ready = {buffer for buffer in self._waiting if buffer.last_sent + LIVE_INTERVAL <= now}
                self._waiting -= ready
                for buffer in ready:
                    buffer.waiting = False  # a line added from now on is in this send, or waits again
            for buffer in ready:
                try:
                    sent = buffer.send()  # one batch: what is left waits for the next
                except Exception:
                    sent = True
                    log.warning("could not send a step log's lines", exc_info=True)
                if not buffer.closed and (not sent or buffer.sent < len(buffer.lines)):
                    self.later(buffer)

    def reset(self) -> None:
        """A forked child (Celery's prefork pool) has none of its parent's threads."""
        self._waiting = set()
        self._wake = threading.Condition()
        self._thread = None


batches = Batches()
os.register_at_fork(after_in_child=batches.reset)
StepContext.log_writer = write
