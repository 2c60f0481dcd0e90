"""Settings for the test suite: the project's settings plus what tests need.

The mode follows the environment like the app does: no REDIS_URL means
embedded mode (in-process worker, SQLite); CI runs the suite a second time
with DATABASE_URL (PostgreSQL) and REDIS_URL set, against runworker processes.
"""

import os

os.environ.setdefault("SECRET_KEY", "insecure-test-only-key")
# Components only the tests use (a hanging one, one that returns junk...).
os.environ.setdefault("OAWEB_COMPONENT_MODULES", "tests.components")
# Short leases so the recovery tests finish in seconds, not minutes.
os.environ.setdefault("OAWEB_LEASE_SECONDS", "3")
os.environ.setdefault("OAWEB_HEARTBEAT_SECONDS", "1")
os.environ.setdefault("OAWEB_REAPER_SECONDS", "1")

from oaweb.settings import *  # noqa: E402,F403
from oaweb.settings import DATABASES, VAR_DIR  # noqa: E402

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not SQLite's shared in-memory database: the embedded worker's
    # threads write concurrently, which shared-cache memory databases refuse
    # ("table is locked") while WAL files handle it.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests

# The test client's host, and the live servers the browser tests start. Set
# here, not by Django's test set-up, because the WebSocket origin check reads
# it when oaweb.asgi is imported.
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
