"""Many API clients at once against the real ASGI server, with real workers.

Before the web process pooled its database connections, 16 clients posting
500 runs got 91-145 HTTP 500s ("sorry, too many clients already"): every
request thread of daphne kept a PostgreSQL connection of its own.
"""

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

import pytest
from django.db import connection

from tests.conftest import noop_definition, wait_until
from tests.server import LiveServer
from workflows.execution.models import Run
from workflows.execution.status import RunStatus
from workflows.tokens import ApiToken

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


@pytest.fixture
def server(worker_processes, transactional_db, components):
    # The API's rate limit is not what is measured here.
    live = LiveServer(extra_env={"OAWEB_API_RATE": "1000000/min"})
    yield live
    live.stop()


def post_run(url: str, secret: str) -> int:
    body = json.dumps({"workflow": "load", "inputs": {}}).encode()
    request = urllib.request.Request(
        f"{url}/api/v1/runs/",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def post_concurrently(url: str, secret: str, clients: int, total: int) -> Counter:
    statuses: Counter = Counter()
    lock = threading.Lock()
    remaining = iter(range(total))

    def client():
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            status = post_run(url, secret)
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def server_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


# 16 clients and 500 runs as the issue measured; 64 clients need fewer runs to pile up.
@pytest.mark.parametrize(("clients", "runs"), [(16, 500), (64, 256)])
def test_concurrent_clients_get_no_5xx_and_every_run_finishes(server, make_workflow, owner, clients, runs):
    make_workflow(noop_definition("load", steps=2))
    _, secret = ApiToken.issue(owner, "load")

    started = time.monotonic()
    statuses = post_concurrently(server.url, secret, clients, runs)
    per_minute = runs / (time.monotonic() - started) * 60
    print(
        f"{clients} clients, {runs} runs: HTTP statuses {dict(statuses)}, {per_minute:.0f} accepted/min; "
        f"{server_connections()} connections open"
    )

    errors = sum(count for status, count in statuses.items() if status >= 500)
    assert errors == 0, "\n".join([str(statuses), *list(server.output)[-20:]])
    assert statuses[201] == runs, statuses
    assert wait_until(lambda: Run.objects.filter(status=RunStatus.SUCCEEDED).count() == runs, timeout=120)
