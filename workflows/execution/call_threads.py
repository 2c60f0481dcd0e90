"""Daemon threads that call components, reused from step to step.

A step calls its component in a thread of its own so that it can stop
waiting after the step's timeout (steps.call_with_timeout). Starting a new
thread for every step cost more than calling a no-op component, so a thread
that finishes a call waits for the next one instead. A component that hangs
keeps its thread busy and a new one is started for the next call; threads
are daemons, so a hung component never keeps a worker from exiting.

A job may return the next job for the same thread: a call that returns
hands its slot to the next step its delivery holds (runner.py), without
waking another thread for it.
"""

import os
import threading
from collections.abc import Callable
from queue import SimpleQueue

_idle: list[SimpleQueue] = []  # the inboxes of threads waiting for a call
_idle_lock = threading.Lock()


def run(job: Callable[[], None]) -> None:
    """Run `job` in an idle call thread, or in a new one when none is idle."""
    with _idle_lock:
        inbox = _idle.pop() if _idle else None
    if inbox is None:
        inbox = SimpleQueue()
        threading.Thread(target=_serve, args=(inbox,), name="component-call", daemon=True).start()
    inbox.put(job)


def _serve(inbox: SimpleQueue) -> None:
    while True:
        job = inbox.get()
        try:
            while callable(job):  # a job may hand its thread the next one (runner.py: a held step started inline)
                job = job()
        finally:  # a job reports its own errors; the thread must survive them
            with _idle_lock:
                _idle.append(inbox)


def idle_count() -> int:
    with _idle_lock:
        return len(_idle)


# A forked child (Celery's prefork pool) has none of its parent's threads.
os.register_at_fork(after_in_child=_idle.clear)
