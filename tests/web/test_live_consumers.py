"""The WebSocket consumers: who may listen, what they receive, how often.

Events travel the real path: events.publish -> the publisher thread -> the
channel layer of this mode (in-memory across threads, or Redis) -> consumer.
"""

import asyncio
import time

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from tests.conftest import noop_definition
from tests.web.conftest import make_run
from workflows.execution import events
from workflows.execution.models import Run, StepRun
from workflows.models import Workflow
from workflows.web.consumers import REFUSED
from workflows.web.routing import websocket_application

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("close_connections"),
]


@pytest_asyncio.fixture
async def close_connections():
    """The consumers' queries ran in asgiref's worker thread: close its connections.

    Left open, they keep PostgreSQL from dropping the test database.
    """
    yield
    await sync_to_async(connections.close_all)()


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(path, user=None):
    headers = [(b"origin", b"http://testserver")]
    if user is not None:
        headers.append((b"cookie", await sync_to_async(session_cookie)(user)))
    return WebsocketCommunicator(websocket_application, path, headers=headers)


async def receive_all(communicator, seconds):
    """Every message that arrives within `seconds`."""
    # receive_from's timeout would cancel the consumer: peek with receive_nothing.
    messages, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if not await communicator.receive_nothing(timeout=min(0.05, left)):
            messages.append(await communicator.receive_from())
    return messages


@pytest.fixture
def run(make_workflow):
    return make_run(make_workflow(noop_definition(steps=3)), {"s1": "running"})


@pytest.fixture
def foreign_run(other_team):
    version, _ = Workflow.import_definition(noop_definition("foreign"), team=other_team)
    return make_run(version.workflow)


@sync_to_async
def set_step(run, step_id, status):
    step = StepRun.objects.get(run=run, step_id=step_id)
    step.status = status
    step.save(update_fields=["status"])
    events.step_changed(step)


async def test_anonymous_sockets_are_refused(run):
    for path in (f"/ws/runs/{run.pk}/", "/ws/dashboard/"):
        communicator = await connect(path)
        connected, code = await communicator.connect()
        assert (connected, code) == (False, REFUSED)


async def test_a_foreign_teams_run_is_refused(outsider, run):
    communicator = await connect(f"/ws/runs/{run.pk}/", outsider)
    connected, code = await communicator.connect()
    assert (connected, code) == (False, REFUSED)


async def test_a_socket_from_another_site_is_refused(owner, run):
    cookie = await sync_to_async(session_cookie)(owner)
    communicator = WebsocketCommunicator(
        websocket_application, f"/ws/runs/{run.pk}/", headers=[(b"origin", b"http://evil.example"), (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.wait()


async def test_run_page_catches_up_then_follows_step_changes(owner, run):
    communicator = await connect(f"/ws/runs/{run.pk}/", owner)
    connected, _ = await communicator.connect()
    assert connected
    rows, head = await receive_all(communicator, 1.0)
    assert 'id="run-head" hx-swap-oob="true"' in head
    # Rows come in a message of their own, starting with <tr> so the browser parses them as rows.
    assert rows.startswith("<tr") and rows.count("<tr") == 3  # everything, when the page gave no `since`

    await set_step(run, "s2", "running")
    update = "".join(await receive_all(communicator, 1.0))
    assert 'id="step-s2"' in update and "st-running" in update
    assert '"s2": "running"' in update.replace("&quot;", '"')  # the graph's statuses
    assert 'id="step-s3"' not in update  # only what changed
    await communicator.disconnect()


async def test_catch_up_sends_only_steps_changed_since_the_page(owner, run):
    since = time.time() + 5  # after every step of this run changed (the margin is 1 s)
    communicator = await connect(f"/ws/runs/{run.pk}/?since={since}", owner)
    await communicator.connect()
    catch_up = await receive_all(communicator, 1.0)
    assert len(catch_up) == 1 and 'id="run-progress"' in catch_up[0]
    assert 'id="step-s1"' not in catch_up[0]
    await communicator.disconnect()


async def test_bursts_are_coalesced_to_at_most_ten_updates_a_second(owner, make_workflow):
    big = await sync_to_async(lambda: make_run(make_workflow(noop_definition("big", steps=60))))()
    communicator = await connect(f"/ws/runs/{big.pk}/", owner)
    await communicator.connect()
    await receive_all(communicator, 1.0)  # catch-up

    started = time.monotonic()
    for number in range(1, 61):
        await set_step(big, f"s{number}", "succeeded")
        await asyncio.sleep(0.01)
    messages = await receive_all(communicator, 2.0)
    seconds = time.monotonic() - started
    updates = [message for message in messages if 'id="run-head"' in message]  # one per flush
    assert updates, "no update arrived"
    assert len(updates) <= 10 * seconds + 1
    assert len(updates) < 60
    latest = "".join(messages)
    assert all(f'id="step-s{n}"' in latest for n in range(1, 61))  # nothing lost, latest state
    await communicator.disconnect()


async def test_dashboard_updates_for_own_runs_only(owner, run, foreign_run):
    communicator = await connect("/ws/dashboard/", owner)
    connected, _ = await communicator.connect()
    assert connected
    first = await communicator.receive_from(timeout=5)
    assert 'id="dash-stats"' in first and 'hx-swap-oob="true"' in first

    await sync_to_async(events.run_changed)(foreign_run)
    assert await receive_all(communicator, 1.0) == []

    await sync_to_async(Run.objects.filter(pk=run.pk).update)(status="succeeded")
    run.status = "succeeded"
    await sync_to_async(events.run_changed)(run)
    update = await communicator.receive_from(timeout=5)
    assert f'href="/runs/{run.pk}/"' in update
    await communicator.disconnect()


async def test_rows_outside_a_big_runs_table_are_not_sent(owner, make_workflow):
    from workflows.web.live import TABLE_LIMIT

    definition = noop_definition("long", steps=TABLE_LIMIT + 5)
    long_run = await sync_to_async(lambda: make_run(make_workflow(definition)))()
    communicator = await connect(f"/ws/runs/{long_run.pk}/?since={time.time() + 5}", owner)
    await communicator.connect()
    await receive_all(communicator, 1.0)
    last = f"s{TABLE_LIMIT + 5}"
    await set_step(long_run, last, "running")
    update = "".join(await receive_all(communicator, 1.0))
    assert f'"{last}": "running"' in update.replace("&quot;", '"')  # the graph hears of it
    assert f'id="step-{last}"' not in update  # the table has no such row
    await communicator.disconnect()
