"""Real `python manage.py runworker` processes for the distributed tests.

They run on the test database (pytest-django's test_<name>) and the same
Redis as the test process, with the test components loaded.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 60


class Worker:
    def __init__(self, name: str, process: subprocess.Popen):
        self.name = name
        self.process = process
        self.output: deque[str] = deque(maxlen=500)
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.output.append(line.rstrip())
            if " ready." in line:
                self.ready.set()

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self):
        """SIGKILL the worker and its pool children: a machine dying mid-step."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)
        self._close()

    def _close(self):
        self._reader.join(5)  # EOF once the process and its children are gone
        self.process.stdout.close()

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        if not self.process.stdout.closed:
            self._close()


def database_url_for_workers() -> str:
    """The URL of the database the tests use, for processes started by the tests."""
    db = connection.settings_dict
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class WorkerPool:
    def __init__(self, database_url: str | None = None, extra_env: dict | None = None):
        self.workers: dict[str, Worker] = {}
        self.extra_env = extra_env or {}
        self.database_url = database_url or database_url_for_workers()

    def start(
        self,
        name: str,
        queues: str = "default",
        concurrency: int = 4,
        pool: str = "threads",
        beat: bool = False,
        env: dict | None = None,
    ) -> Worker:
        """Start a worker and wait until it is ready; `env` is added to (or overrides) its environment."""
        environment = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "OAWEB_COMPONENT_MODULES": os.environ.get("OAWEB_COMPONENT_MODULES", "tests.components"),
            "OAWEB_LEASE_SECONDS": os.environ.get("OAWEB_LEASE_SECONDS", "3"),
            "OAWEB_HEARTBEAT_SECONDS": os.environ.get("OAWEB_HEARTBEAT_SECONDS", "1"),
            "OAWEB_REAPER_SECONDS": os.environ.get("OAWEB_REAPER_SECONDS", "1"),
            "SECRET_KEY": os.environ.get("SECRET_KEY", "insecure-test-only-key"),
            "DJANGO_SETTINGS_MODULE": "oaweb.settings",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
            **(env or {}),
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "runworker",
                f"--queues={queues}",
                f"--concurrency={concurrency}",
                f"--pool={pool}",
                f"--hostname={name}-%h",
                "--loglevel=INFO",
                # Celery beat inside this worker: schedules fire from the test database.
                *(["--beat"] if beat else []),
            ],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: kill() takes the pool children too
        )
        worker = Worker(name, process)
        # What started it, to start it again the same way (tests/faults.py paused).
        worker.options = {"queues": queues, "concurrency": concurrency, "pool": pool, "beat": beat, "env": env}
        self.workers[name] = worker
        deadline = time.monotonic() + READY_TIMEOUT
        while not worker.ready.wait(0.2):
            if process.poll() is not None or time.monotonic() > deadline:
                output = "\n".join(worker.output)
                worker.stop()
                raise RuntimeError(f"runworker {name} did not start:\n{output}")
        return worker

    def stop(self, name: str):
        worker = self.workers.pop(name, None)
        if worker:
            worker.stop()

    def stop_all(self):
        for name in list(self.workers):
            self.stop(name)
