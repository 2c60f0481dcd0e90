"""Every status change is published; bursts are coalesced; a broken layer never fails a step."""

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings

from tests.conftest import run_definition
from workflows.execution.events import DASHBOARD_GROUP, MESSAGE_TYPE, Publisher, run_group


class RecordingLayer:
    def __init__(self, fail_times=0):
        self.sent = []
        self.fail_times = fail_times

    async def group_send(self, group, message):
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("layer down")
        self.sent.append((group, message))


def wait_for(predicate, timeout=5):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
    return predicate()


@pytest.fixture
def make_publisher():
    made = []

    def make(layer):
        publisher = Publisher(get_layer=lambda: layer)
        made.append(publisher)
        return publisher

    yield make
    for publisher in made:
        publisher.close()


class BrokenLayer:
    async def group_send(self, group, message):
        raise ConnectionError("layer down")


def step_event(status, step="a", run=1):
    return {"type": "step", "run": run, "step": step, "status": status}


def test_a_burst_for_one_step_is_sent_once_in_its_latest_state(make_publisher):
    layer = RecordingLayer()
    publisher = make_publisher(layer)

    for status in ["queued", "running", "succeeded"]:
        publisher.publish(step_event(status))

    assert wait_for(lambda: len(layer.sent) == 2)
    time.sleep(0.1)
    groups = [group for group, _ in layer.sent]
    assert groups == [run_group(1), DASHBOARD_GROUP]
    assert all(message["type"] == MESSAGE_TYPE for _, message in layer.sent)
    assert {message["event"]["status"] for _, message in layer.sent} == {"succeeded"}


def test_events_of_different_steps_are_all_sent(make_publisher):
    layer = RecordingLayer()
    publisher = make_publisher(layer)

    publisher.publish(step_event("running", step="a"))
    publisher.publish(step_event("running", step="b"))
    publisher.publish({"type": "run", "run": 1, "status": "running"})

    assert wait_for(lambda: len(layer.sent) == 6)


def test_a_failing_layer_is_retried_and_never_raises_to_the_publisher(make_publisher):
    layer = RecordingLayer(fail_times=1)
    publisher = make_publisher(layer)

    publisher.publish(step_event("running"))  # must not raise

    assert wait_for(lambda: len(layer.sent) == 2)


def test_the_buffer_is_bounded(monkeypatch, make_publisher):
    from workflows.execution import events

    monkeypatch.setattr(events, "MAX_BUFFERED", 10)
    publisher = make_publisher(BrokenLayer())

    for number in range(50):
        publisher.publish(step_event("running", step=f"s{number}"))

    assert len(publisher._pending) <= 10
    assert publisher.dropped >= 40


@pytest.mark.distributed
def test_a_run_publishes_its_steps_and_its_end_to_the_redis_layer(workers):
    if settings.EMBEDDED:
        pytest.skip("the in-memory layer only reaches consumers in its own event loop (dashboard issue)")
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    channel = f"test-listener-{time.monotonic_ns()}"

    async def listen_while_running():
        # One event loop for every layer call: channels_redis's receive is
        # not safe across the several loops async_to_sync would use.
        await layer.group_add(DASHBOARD_GROUP, channel)
        try:
            run = await sync_to_async(run_definition)({"id": "loud", "steps": [{"id": "a", "component": "core.noop"}]})
            seen = []
            while not any(e["type"] == "run" and e["run"] == run.pk and e["status"] == "succeeded" for e in seen):
                seen.append((await asyncio.wait_for(layer.receive(channel), 10))["event"])
            return run, seen
        finally:
            await layer.group_discard(DASHBOARD_GROUP, channel)

    run, seen = async_to_sync(listen_while_running)()

    mine = [(event["type"], event.get("step"), event["status"]) for event in seen if event["run"] == run.pk]
    assert ("step", "a", "succeeded") in mine
    assert mine[-1] == ("run", None, "succeeded")
    assert mine.index(("step", "a", "succeeded")) < mine.index(("run", None, "succeeded"))


@pytest.mark.distributed
def test_only_groups_someone_listens_to_are_sent_to():
    if settings.EMBEDDED:
        pytest.skip("the question is asked of Redis; the in-memory layer is sent every event")
    from channels_redis.core import RedisChannelLayer

    from workflows.execution.events import _send_all, listened_groups

    class SpyLayer(RedisChannelLayer):
        sent_to: list[str] = []

        async def group_send(self, group, message):
            self.sent_to.append(group)
            await super().group_send(group, message)

    layer = SpyLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])
    unique = time.monotonic_ns() % 1_000_000  # run ids no real run of this test database has
    watched, unwatched = 2_000_000_000 + unique, 3_000_000_000 + unique
    channel = f"test-listener-{time.monotonic_ns()}"

    async def scenario():
        await layer.group_add(run_group(watched), channel)
        try:
            groups = await listened_groups(layer, {run_group(watched), run_group(unwatched)})
            await _send_all(layer, [step_event("running", run=watched), step_event("running", run=unwatched)])
            received = await asyncio.wait_for(layer.receive(channel), 5)
            return groups, received
        finally:
            await layer.group_discard(run_group(watched), channel)
            await layer.close_pools()

    groups, received = async_to_sync(scenario)()

    assert groups == {run_group(watched)}
    assert run_group(watched) in layer.sent_to and run_group(unwatched) not in layer.sent_to
    assert received["event"]["run"] == watched
