"""Embedded mode: a Celery worker (and, in the web process, beat) inside this process.

With no REDIS_URL the broker is kombu's in-memory transport, which only
reaches consumers in the same process; this starts one worker (a pool of
threads) there, the first time a step is sent. Same tasks, same engine.
"""

import socket
import threading

from celery.worker import WorkController
from django.conf import settings

from oaweb.celery import app
from workflows.execution import heartbeat
from workflows.execution.workers import identity


class EmbeddedWorker(WorkController):
    """Celery's worker, plus an event set once it consumes (so sends aren't lost)."""

    def __init__(self, *args, **kwargs):
        self.consuming = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer):
        self.consuming.set()


_worker = None
_lock = threading.Lock()


def ensure_embedded_worker():
    """Start the in-process worker once; returns it."""
    global _worker
    if _worker is not None:
        return _worker
    with _lock:
        if _worker is None:
            worker = EmbeddedWorker(
                app=app,
                pool="threads",
                concurrency=settings.OAWEB_EMBEDDED_CONCURRENCY,
                hostname=f"embedded@{socket.gethostname()}",
                loglevel="WARNING",
                ready_callback=None,
                without_heartbeat=True,
                without_mingle=True,
                without_gossip=True,
            )
            thread = threading.Thread(target=worker.start, name="oaweb-embedded-worker", daemon=True)
            thread.start()
            if not worker.consuming.wait(30):
                raise RuntimeError("the embedded Celery worker did not start within 30 s")

            identity.update(
                queues=[settings.CELERY_TASK_DEFAULT_QUEUE],
                concurrency=settings.OAWEB_EMBEDDED_CONCURRENCY,
                pool="threads",
                embedded=True,
            )
            heartbeat.ensure_maintenance_thread()
            _worker = worker
    return _worker


def stop_embedded_worker() -> None:
    """Stop the in-process worker and its maintenance thread; the next send starts a new one.

    Embedded mode is one process per database: its run state lives in that
    process's memory. Tests that hand the database to another embedded
    process (the browser tests' server) stop this one first.
    """
    global _worker
    with _lock:
        worker, _worker = _worker, None
    if worker is None:
        return

    heartbeat.stop_maintenance_thread()
    worker.stop(in_sighandler=False)


_beat = None


def ensure_embedded_beat():
    """Run Celery beat (the schedules) in a thread of this process: the web server's, once.

    Only the web process calls it (oaweb/asgi.py): a CLI process running a
    workflow in embedded mode must not fire schedules too.
    """
    global _beat
    with _lock:
        if _beat is None:
            from celery.beat import EmbeddedService

            _beat = EmbeddedService(app, thread=True, scheduler_cls=settings.CELERY_BEAT_SCHEDULER)
            _beat.start()
    return _beat
