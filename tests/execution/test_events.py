"""Every status change is published; bursts are coalesced; a broken layer never fails a step."""

import asyncio
import dataclasses
import json
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import msgpack
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings

from tests.conftest import run_definition
from workflows.execution.events import (
    DASHBOARD_GROUP,
    MESSAGE_TYPE,
    Event,
    Publisher,
    RunEvent,
    StepEvent,
    StepsEvent,
    run_group,
)
from workflows.execution.messages import StepState
from workflows.execution.models import StepRun
from workflows.execution.status import RunStatus, StepStatus


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
    return StepEvent(
        run=run,
        step=step,
        status=status,
        attempt=1,
        worker="",
        error="",
        enqueued=None,
        started=None,
        finished=None,
    )


def run_event(status, run=1):
    return RunEvent(run=run, workflow=7, status=status, error="", created=None, started=None, finished=None)


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
    publisher.publish(run_event("running"))

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


# --- the records and their wire format (docs/events.md) ---------------------------------

AT = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 28, 10, 0, 0, 100000, tzinfo=UTC)


def stamped(event):
    return dataclasses.replace(event, at=1795860000.123)


def test_a_run_event_is_todays_dict_key_for_key_and_byte_for_byte():
    run = SimpleNamespace(
        pk=42, workflow_id=7, status=RunStatus.RUNNING, error="", created=AT, started=LATER, finished=None
    )
    message = stamped(RunEvent.of(run)).as_message()

    expected = {
        "type": "run",
        "run": 42,
        "workflow": 7,
        "status": "running",
        "error": "",
        "created": "2026-11-28T10:00:00+00:00",
        "started": "2026-11-28T10:00:00.100000+00:00",
        "finished": None,
        "at": 1795860000.123,
    }
    assert list(message.items()) == list(expected.items())  # the same keys in the same order
    assert msgpack.packb(message) == msgpack.packb(expected)
    assert json.dumps(message) == json.dumps(expected)


def test_a_step_event_is_the_same_from_a_row_and_from_a_step_state():
    fields = dict(
        run_id=42,
        step_id="fetch",
        status=StepStatus.RUNNING,
        attempt=1,
        worker="host-a:1234",
        error="",
        enqueued=AT,
        started=LATER,
        finished=None,
    )
    from_row = stamped(StepEvent.of(StepRun(**fields))).as_message()
    from_state = stamped(StepEvent.of(StepState(**fields))).as_message()

    expected = {
        "type": "step",
        "run": 42,
        "step": "fetch",
        "status": "running",
        "attempt": 1,
        "worker": "host-a:1234",
        "error": "",
        "enqueued": "2026-11-28T10:00:00+00:00",
        "started": "2026-11-28T10:00:00.100000+00:00",
        "finished": None,
        "at": 1795860000.123,
    }
    for message in (from_row, from_state):
        assert list(message.items()) == list(expected.items())
        assert msgpack.packb(message) == msgpack.packb(expected)


def test_a_steps_event_carries_its_run_and_the_time():
    message = stamped(StepsEvent(run=42)).as_message()
    assert list(message.items()) == [("type", "steps"), ("run", 42), ("at", 1795860000.123)]


def test_a_message_reads_back_into_the_event_it_came_from():
    for event in (stamped(run_event("failed")), stamped(step_event("queued")), stamped(StepsEvent(run=3))):
        assert Event.from_message(event.as_message()) == event
        assert type(event).from_message(event.as_message()) == event
    assert Event.from_message({**step_event("queued").as_message(), "added_later": 1}) == step_event("queued")


def test_messages_this_code_cant_read_are_none():
    assert Event.from_message({"type": "something-new", "run": 1}) is None
    assert Event.from_message({"type": "step", "run": 1}) is None  # malformed
    assert RunEvent.from_message(step_event("queued").as_message()) is None  # not the kind asked for


def test_events_coalesce_per_run_and_per_step():
    assert step_event("queued").key == step_event("running").key
    assert step_event("running", step="a").key != step_event("running", step="b").key
    assert step_event("running", run=1).key != step_event("running", run=2).key
    assert len({run_event("running").key, StepsEvent(run=1).key, step_event("running").key}) == 3


def test_events_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        step_event("running").status = "failed"


def test_the_publisher_stamps_the_time_and_sends_plain_dicts(make_publisher):
    layer = RecordingLayer()
    publisher = make_publisher(layer)
    event = run_event("succeeded")
    before = time.time()

    publisher.publish(event)

    assert wait_for(lambda: len(layer.sent) == 2)
    assert event.at is None  # the caller's record is left as it was
    for _, message in layer.sent:
        assert msgpack.unpackb(msgpack.packb(message)) == message  # what a channel layer can carry
        sent = message["event"]
        assert type(sent) is dict and before <= sent["at"] <= time.time()
        assert sent == {**event.as_message(), "at": sent["at"]}
