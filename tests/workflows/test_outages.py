"""Which failures are outages (workflows/outages.py), and one raised outside any view answered as one.

No server: the Redis errors come from a real client refused by a closed
port; the rest is classification, pure logic. The real outages (a cut
Redis, a cut PostgreSQL) are in tests/api/test_outages.py.
"""

import socket

import pytest
import redis
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.test import Client
from kombu.exceptions import OperationalError as BrokerError

from workflows.execution.state import StateUnavailable
from workflows.outages import DATABASE, REDIS, describe, is_outage


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


def refused_by_redis() -> redis.exceptions.ConnectionError:
    with pytest.raises(redis.exceptions.ConnectionError) as caught:
        redis.Redis(host="127.0.0.1", port=closed_port(), socket_connect_timeout=1).ping()
    return caught.value


def test_redis_unreachable_is_a_redis_outage_however_it_is_raised():
    assert is_outage(refused_by_redis()) == REDIS
    assert is_outage(redis.exceptions.TimeoutError("Timeout reading from socket")) == REDIS
    assert is_outage(StateUnavailable("Redis is unreachable")) == REDIS
    assert is_outage(BrokerError("Error 111 connecting to 127.0.0.1:6379")) == REDIS


def test_database_operational_and_interface_errors_are_database_outages():
    assert is_outage(OperationalError("connection failed: Connection refused")) == DATABASE
    assert is_outage(InterfaceError("connection already closed")) == DATABASE


def test_an_outage_wrapped_in_another_error_is_still_one():
    def wrapped(cause, explicitly: bool):
        try:
            try:
                raise cause
            except Exception as exc:
                if explicitly:
                    raise RuntimeError("lookup failed") from exc
                raise RuntimeError("while handling it")  # noqa: B904  (implicit chaining on purpose)
        except RuntimeError as outer:
            return outer

    assert is_outage(wrapped(refused_by_redis(), explicitly=True)) == REDIS
    assert is_outage(wrapped(OperationalError("server closed the connection"), explicitly=False)) == DATABASE


def test_an_error_raised_from_none_while_handling_an_outage_is_not_one():
    """`raise ValidationError(...) from None` translated the outage on purpose: its answer stands."""
    try:
        try:
            raise OperationalError("server closed the connection")
        except OperationalError:
            raise ValueError("not a number") from None
    except ValueError as translated:
        assert is_outage(translated) is None


def test_client_and_programming_errors_are_not_outages():
    for error in (
        None,
        ValueError("bad input"),
        IntegrityError("duplicate key"),
        DataError("NUL (0x00)"),
        redis.exceptions.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
        KeyError("generation"),
    ):
        assert is_outage(error) is None, error


def test_the_cli_names_the_service_and_where_it_is_without_a_password(settings):
    settings.REDIS_URL, settings.REDIS_SENTINELS = "redis://:hunter2@redis.internal:6379/3", []

    assert describe(REDIS) == "Redis at redis://redis.internal:6379/3"
    assert "hunter2" not in describe(DATABASE)


class RedisBeforeTheView:
    """A middleware that reads an unreachable Redis: the outage is raised outside any view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        redis.Redis(host="127.0.0.1", port=closed_port(), socket_connect_timeout=1).get("anything")
        return self.get_response(request)


def test_an_outage_raised_in_a_middleware_is_a_503_not_a_500(settings):
    """Django turns it into a 500 where it is raised; the outage middleware around it answers 503."""
    settings.MIDDLEWARE = ["workflows.outages.OutageMiddleware", f"{__name__}.RedisBeforeTheView"]
    client = Client(raise_request_exception=False)

    api = client.get("/api/v1/workflows/")
    page = client.get("/workflows/")

    assert api.status_code == 503 and api.json() == {
        "detail": "Redis is unreachable; retry later",
        "code": "unavailable",
    }
    assert page.status_code == 503 and b"Redis is unreachable" in page.content
    assert int(api["Retry-After"]) > 0 and int(page["Retry-After"]) > 0
