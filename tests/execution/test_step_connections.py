"""A step's database connection: kept across steps, health-checked only after a pause."""

import time

import pytest
from django.db import connection

from workflows.execution import connections


@pytest.fixture
def health_checks(transactional_db, monkeypatch):
    """Count Django's health checks on an open connection that never ages out."""
    connection.ensure_connection()
    monkeypatch.setattr(connection, "close_at", None)
    monkeypatch.setattr(connection, "health_check_enabled", True)
    checks = []
    real = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(time.monotonic()) or real())
    return checks


def first_query():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_a_step_right_after_another_skips_the_health_check(health_checks, monkeypatch):
    monkeypatch.setattr(connections._this_thread, "last_step_ended", time.monotonic(), raising=False)
    connections.fresh_connections()
    first_query()
    assert health_checks == []


def test_a_step_after_a_pause_checks_the_connection_first(health_checks, monkeypatch):
    pause = connections.HEALTH_CHECK_AFTER_IDLE + 1
    monkeypatch.setattr(connections._this_thread, "last_step_ended", time.monotonic() - pause, raising=False)
    connections.fresh_connections()
    first_query()
    assert len(health_checks) == 1
