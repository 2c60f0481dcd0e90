"""Redis or PostgreSQL unreachable: outages answered as outages (503 with Retry-After), reads of the database go on.

A real daphne serves the test database, with Redis (or PostgreSQL) reached
through a TcpProxy (tests/faults.py) that each test cuts and restores: the
server's connections are reset and new ones refused, as when the service
dies, while the real one keeps serving the test process and everybody else.
"""

import json
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import make_user
from tests.faults import TcpProxy, through
from tests.server import LiveServer, database_url
from tests.web.conftest import make_run
from workflows.tokens import ApiToken
from workflows.triggers.models import WebhookTrigger

pytestmark = [pytest.mark.distributed, pytest.mark.slow]

# An outage must be answered at once, not after the kernel's TCP timeouts.
ANSWER_WITHIN_SECONDS = 3
# The database pool retries a lost server with a backoff capped at 5 s (settings); uncapped, 8.7 s here.
RECOVERY_WITHIN_SECONDS = 6


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


@pytest.fixture(scope="module")
def redis_proxy():
    if settings.EMBEDDED:
        pytest.skip("needs REDIS_URL (distributed mode)")
    host, port = address(settings.REDIS_URL)
    with TcpProxy((host, port or 6379)) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def database_proxy(django_db_setup):
    if settings.EMBEDDED:
        pytest.skip("needs PostgreSQL (distributed mode)")
    host, port = address(database_url())
    with TcpProxy((host, port or 5432)) as proxy:
        yield proxy


def start_server(django_db_blocker, **env):
    with django_db_blocker.unblock():
        # A pooled database connection is waited for this long before the request gives up (settings).
        return LiveServer(extra_env={"OAWEB_DB_POOL_TIMEOUT": "1", **env})


@pytest.fixture(scope="module")
def redis_cut_server(django_db_setup, django_db_blocker, redis_proxy):
    """The server reaches Redis through the proxy, and the database directly."""
    server = start_server(django_db_blocker, REDIS_URL=through(settings.REDIS_URL, redis_proxy.port))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def database_cut_server(django_db_setup, django_db_blocker, database_proxy):
    """The server reaches the database through the proxy, and Redis directly."""
    server = start_server(django_db_blocker, DATABASE_URL=through(database_url(), database_proxy.port))
    yield server
    server.stop()


@pytest.fixture
def cut():
    """cut(proxy): the link is down until the test ends."""
    proxies = []

    def make(proxy):
        proxy.cut()
        proxies.append(proxy)

    yield make
    for proxy in proxies:
        proxy.restore()


# --- the people and objects the server sees (committed: the server has its own connections) ---


@pytest.fixture
def ada(transactional_db, team):
    return make_user("ada", team)


@pytest.fixture
def secret(ada):
    return ApiToken.issue(ada, "outages")[1]


@pytest.fixture
def session_cookie(ada):
    """The cookie of a logged-in browser: its session row is in the database."""
    client = Client()
    client.force_login(ada)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@pytest.fixture
def workflow(make_workflow, components):
    return make_workflow()


@pytest.fixture
def hook_token(workflow, ada):
    return WebhookTrigger.create(workflow, ada)[1]


# --- HTTP without following redirects: a login page is not the page asked for ---------------


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirects)


class Answer:
    def __init__(self, status: int, headers, body: bytes, seconds: float):
        self.status, self.headers, self.text, self.seconds = status, headers, body.decode(), seconds

    def json(self):
        return json.loads(self.text)

    def __repr__(self):
        return f"{self.status} in {self.seconds:.2f} s: {self.text[:300]}"


def call(server, method: str, path: str, *, secret=None, cookie=None, body: bytes | None = None) -> Answer:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    if cookie:
        headers["Cookie"] = cookie
    request = urllib.request.Request(f"{server.url}{path}", data=body, method=method, headers=headers)
    started = time.monotonic()
    try:
        with OPENER.open(request, timeout=30) as response:
            return Answer(response.status, response.headers, response.read(), time.monotonic() - started)
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read(), time.monotonic() - started)


def assert_outage_json(answer: Answer, service: str) -> None:
    assert answer.status == 503, answer
    assert answer.headers["Content-Type"] == "application/json", answer
    assert answer.json()["code"] == "unavailable", answer
    assert service in answer.json()["detail"], answer
    assert int(answer.headers["Retry-After"]) > 0, answer
    assert answer.seconds < ANSWER_WITHIN_SECONDS, answer


def run_body(workflow) -> bytes:
    return f'{{"workflow": "{workflow.slug}", "inputs": {{}}}}'.encode()


# --- Redis cut -----------------------------------------------------------------------------------


def test_starting_a_run_answers_503_json_with_retry_after_while_redis_is_cut(
    redis_cut_server, redis_proxy, cut, secret, workflow
):
    cut(redis_proxy)

    answer = call(redis_cut_server, "POST", "/api/v1/runs/", secret=secret, body=run_body(workflow))

    assert_outage_json(answer, "Redis")
    assert not workflow.runs.exists()


def test_api_reads_of_the_database_go_on_while_redis_is_cut(redis_cut_server, redis_proxy, cut, secret, workflow):
    """The throttle counts in the server's memory instead of failing every request."""
    cut(redis_proxy)

    listed = call(redis_cut_server, "GET", "/api/v1/workflows/", secret=secret)
    shown = call(redis_cut_server, "GET", f"/api/v1/workflows/{workflow.slug}/", secret=secret)

    assert listed.status == 200 and [item["slug"] for item in listed.json()["results"]] == [workflow.slug], listed
    assert shown.status == 200 and shown.json()["slug"] == workflow.slug, shown
    assert max(listed.seconds, shown.seconds) < ANSWER_WITHIN_SECONDS


def test_webhooks_answer_503_json_while_redis_is_cut_valid_token_or_not(
    redis_cut_server, redis_proxy, cut, hook_token, workflow
):
    cut(redis_proxy)

    valid = call(redis_cut_server, "POST", f"/hooks/{hook_token}/", body=b"{}")
    unknown = call(redis_cut_server, "POST", f"/hooks/{hook_token[:-4]}xxxx/", body=b"{}")

    assert_outage_json(valid, "Redis")
    # The same answer: an outage must not tell a guesser (whose misses can't be counted now) a hit.
    assert (unknown.status, unknown.text) == (valid.status, valid.text)
    assert not workflow.runs.exists()


def test_pages_that_read_the_database_render_while_redis_is_cut(
    redis_cut_server, redis_proxy, cut, session_cookie, workflow
):
    run = make_run(workflow, {"s1": "succeeded"})
    cut(redis_proxy)

    pages = {
        path: call(redis_cut_server, "GET", path, cookie=session_cookie)
        for path in ("/", "/runs/", f"/runs/{run.pk}/", "/workflows/", f"/workflows/{workflow.slug}/")
    }

    assert {path: answer.status for path, answer in pages.items()} == dict.fromkeys(pages, 200), pages
    assert "<title>Dashboard" in pages["/"].text
    assert f"Run #{run.pk}" in pages[f"/runs/{run.pk}/"].text


def test_a_page_that_needs_redis_answers_a_plain_503_page_while_redis_is_cut(
    redis_cut_server, redis_proxy, cut, session_cookie
):
    """The metrics page shows the queues' depths, which only the broker (Redis) knows."""
    cut(redis_proxy)

    answer = call(redis_cut_server, "GET", "/stats/", cookie=session_cookie)

    assert answer.status == 503, answer
    assert answer.headers["Content-Type"].startswith("text/html"), answer
    assert "Redis is unreachable" in answer.text, answer
    assert int(answer.headers["Retry-After"]) > 0, answer
    assert answer.seconds < ANSWER_WITHIN_SECONDS, answer


# --- PostgreSQL cut -------------------------------------------------------------------------------


def test_api_answers_503_json_with_retry_after_while_the_database_is_cut(
    database_cut_server, database_proxy, cut, secret, workflow
):
    cut(database_proxy)

    read = call(database_cut_server, "GET", "/api/v1/workflows/", secret=secret)
    start = call(database_cut_server, "POST", "/api/v1/runs/", secret=secret, body=run_body(workflow))

    assert_outage_json(read, "database")
    assert_outage_json(start, "database")


def test_webhooks_answer_503_json_while_the_database_is_cut(database_cut_server, database_proxy, cut, hook_token):
    cut(database_proxy)

    answer = call(database_cut_server, "POST", f"/hooks/{hook_token}/", body=b"{}")

    assert_outage_json(answer, "database")


def test_pages_answer_a_plain_503_page_while_the_database_is_cut(
    database_cut_server, database_proxy, cut, session_cookie
):
    """Reading the session of a logged-in request needs the database: a 503 page, not a 500 one."""
    cut(database_proxy)

    answer = call(database_cut_server, "GET", "/", cookie=session_cookie)

    assert answer.status == 503, answer
    assert answer.headers["Content-Type"].startswith("text/html"), answer
    assert "The database is unreachable" in answer.text, answer
    assert int(answer.headers["Retry-After"]) > 0, answer
    assert answer.seconds < ANSWER_WITHIN_SECONDS, answer


def test_the_server_serves_again_soon_after_the_database_comes_back(
    database_cut_server, database_proxy, secret, workflow
):
    """The pool's reconnection backoff must not keep the web tier down long after PostgreSQL is back."""
    database_proxy.cut()
    try:
        deadline = time.monotonic() + 20  # an outage long enough for the pool's backoff to grow
        while time.monotonic() < deadline:
            assert_outage_json(call(database_cut_server, "GET", "/api/v1/workflows/", secret=secret), "database")
    finally:
        database_proxy.restore()
    restored = time.monotonic()
    while call(database_cut_server, "GET", "/api/v1/workflows/", secret=secret).status != 200:
        assert time.monotonic() - restored < RECOVERY_WITHIN_SECONDS, "the server did not serve again"
        time.sleep(0.2)
    print(f"serving again {time.monotonic() - restored:.1f} s after the database came back")
