"""`python manage.py runworker`: a Celery worker for oaweb's step queues."""

import os
import sys
import threading
import time

from celery.signals import worker_shutting_down
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from oaweb.celery import app


class Command(BaseCommand):
    help = "Start a Celery worker that executes workflow steps (distributed mode: needs REDIS_URL)."

    def add_arguments(self, parser):
        parser.add_argument("--queues", default="default", help="comma-separated queues to consume (default: default)")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--concurrency", type=int, help="worker processes or threads (default: CPU count)")
        group.add_argument("--autoscale", help="MAX,MIN: grow and shrink the pool with the load")
        parser.add_argument("--pool", choices=["prefork", "threads", "solo"], default="prefork")
        parser.add_argument("--beat", action="store_true", help="also run the periodic scheduler (one per cluster)")
        parser.add_argument("--hostname", help="node name (default: oaweb-<pid>@<host>)")
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args, queues, concurrency, autoscale, pool, beat, hostname, loglevel, **options):
        if settings.EMBEDDED:
            raise CommandError(
                "runworker needs REDIS_URL: in embedded mode steps run inside the web process (`make run`)."
            )
        if concurrency is not None and concurrency < 1:
            raise CommandError("--concurrency must be at least 1")
        if autoscale and not _valid_autoscale(autoscale):
            raise CommandError("--autoscale takes MAX,MIN, e.g. 8,2")
        argv = [
            "worker",
            f"--loglevel={loglevel}",
            f"--queues={queues}",
            f"--pool={pool}",
            f"--hostname={hostname or f'oaweb-{os.getpid()}@%h'}",
            # Gossip and mingle cost every worker a message per peer per
            # event; oaweb coordinates through the database instead.
            "--without-gossip",
            "--without-mingle",
        ]
        if concurrency:
            argv.append(f"--concurrency={concurrency}")
        if autoscale:
            argv.append(f"--autoscale={autoscale}")
        if beat:
            argv.append("--beat")

        asked_to_stop = threading.Event()
        worker_shutting_down.connect(lambda **kwargs: asked_to_stop.set(), weak=False)
        code = 0
        try:
            app.worker_main(argv=argv)
        except SystemExit as exit:
            code = exit.code
        if not asked_to_stop.is_set():
            # Celery's consumer can give up for good when the broker vanishes
            # while it holds unacknowledged messages (kombu 5.7 fails to
            # restore them and the worker stops, with exit code 0): a worker
            # must outlive a Redis outage, so this one starts again, as it was.
            self.stderr.write("runworker: the worker stopped without being asked to; starting it again in 1 s")
            sys.stdout.flush()
            sys.stderr.flush()
            time.sleep(1)
            os.execv(sys.executable, [sys.executable, *sys.argv])
        raise SystemExit(code)


def _valid_autoscale(value: str) -> bool:
    parts = value.split(",")
    return len(parts) == 2 and all(part.strip().isdigit() for part in parts) and int(parts[0]) >= int(parts[1]) >= 0
