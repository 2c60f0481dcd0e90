"""A real oaweb server for the browser tests: daphne serving oaweb.asgi.

It runs on the test database. In embedded mode it is also the worker, as
`make run` is; in distributed mode the tests' runworker processes execute
the steps and Redis carries the live events to it.
"""

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    from tests.workers import database_url_for_workers

    return database_url_for_workers()


class LiveServer:
    def __init__(self, extra_env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output: deque[str] = deque(maxlen=300)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "oaweb.settings",
            "DATABASE_URL": database_url(),
            "SECRET_KEY": "insecure-test-only-key",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "OAWEB_COMPONENT_MODULES": "tests.components",
            "OAWEB_LEASE_SECONDS": "3",
            "OAWEB_HEARTBEAT_SECONDS": "1",
            "OAWEB_REAPER_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        if settings.EMBEDDED:
            env.pop("REDIS_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "oaweb.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._wait_until_up()

    def _read(self):
        for line in self.process.stdout:
            self.output.append(line.rstrip())

    def _wait_until_up(self):
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"{self.url}/login/", timeout=2).close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the live server did not start:\n" + "\n".join(self.output))

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._reader.join(5)  # EOF once the process is gone
        if not self.process.stdout.closed:
            self.process.stdout.close()
