"""Database connections on the step path: reused across steps, retried when they drop.

A step whose outcome can't be written because its connection dropped (a
database restart, a failover, `pg_terminate_backend`) must not run again:
the statement at hand is retried on a new connection until the database
answers. Every write of the engine is conditional on the step still being
this attempt's, so a retry of a transaction that did commit before the
connection dropped changes nothing and reports "not mine".
"""

import logging
import threading
import time

from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connection, connections

log = logging.getLogger(__name__)

# A connection used this recently by the previous step skips Django's health
# check (a SELECT 1 round trip before the first query, CONN_HEALTH_CHECKS):
# back-to-back steps would pay it on every step for nothing.
HEALTH_CHECK_AFTER_IDLE = 1.0
# How long the step path keeps retrying a statement before giving up on it
# (the step then stays running; the reaper puts it back when its lease ends).
RETRY_FOR_SECONDS = 120.0
_this_thread = threading.local()


def fresh_connections() -> None:
    """What Django does per request, for a step: drop connections that broke or outlived CONN_MAX_AGE.

    Connections are reused across tasks (settings.CELERY_DB_REUSE_MAX).
    """
    close_old_connections()
    if time.monotonic() - getattr(_this_thread, "last_step_ended", float("-inf")) < HEALTH_CHECK_AFTER_IDLE:
        for conn in connections.all(initialized_only=True):
            conn.health_check_done = True


def step_ended() -> None:
    _this_thread.last_step_ended = time.monotonic()


def is_retryable(error: DatabaseError) -> bool:
    """A dropped connection, a deadlock or a serialization failure: trying again can succeed."""
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or getattr(getattr(cause, "diag", None), "sqlstate", None)
    # 40001 serialization failure, 40P01 deadlock; class 08 connection
    # exceptions; 57P01-57P03 the server shutting down or refusing.
    if sqlstate and (sqlstate in ("40001", "40P01") or sqlstate.startswith(("08", "57P"))):
        return True
    # SQLite "database is locked", and a connection closed under psycopg (no sqlstate).
    return sqlstate is None


def retrying(action, *args, **kwargs):
    """`action(*args, **kwargs)`, again on a new connection while the database drops or deadlocks it.

    Only outside a transaction: a retry inside one would run on a connection
    whose transaction is already lost.
    """
    deadline = time.monotonic() + RETRY_FOR_SECONDS
    backoff = 0.05
    while True:
        try:
            return action(*args, **kwargs)
        except DatabaseError as error:
            if connection.in_atomic_block or not is_retryable(error) or time.monotonic() > deadline:
                raise
            log.warning("database statement failed (%s); retrying in %.2f s on a new connection", error, backoff)
            try:
                connection.close()
            except DatabaseError:  # closing a connection the server already dropped
                connection.connection = None
            time.sleep(backoff)
            backoff = min(backoff * 2, 2.0)
