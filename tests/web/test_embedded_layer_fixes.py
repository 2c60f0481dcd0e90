"""Issue 18: embedded mode's channel layer delivers at once, whatever thread, loop or process sends.

A send never waits for the receiver's loop (one busy loop held up every
page's updates), and a run executed by another embedded process on the same
database (`manage.py run_workflow` beside `make run`) reaches the server's
consumers through the relay.
"""

import asyncio
import os
import socket
import threading
import time

import pytest

from workflows.web.layers import EmbeddedChannelLayer

pytestmark = pytest.mark.asyncio


@pytest.fixture
def layers():
    """Layers made by a test, closed after it (a relaying one holds sockets)."""
    made = []

    def make(**kwargs):
        made.append(EmbeddedChannelLayer(**kwargs))
        return made[-1]

    yield make
    for layer in made:
        if layer.relay is not None:
            layer.relay.close()


def receiver_in_a_thread(layer, channel, busy_for: float = 0.0):
    """A consumer's loop in its own thread: it receives once, after blocking `busy_for` seconds."""
    got: dict = {}
    waiting = threading.Event()

    async def receive():
        task = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0.05)
        waiting.set()
        time.sleep(busy_for)  # the loop is blocked, as by a slow synchronous call
        got["message"] = await asyncio.wait_for(task, timeout=5)
        got["at"] = time.monotonic()

    thread = threading.Thread(target=asyncio.run, args=(receive(),))
    thread.start()
    assert waiting.wait(5)
    return thread, got


async def test_a_group_send_does_not_wait_for_a_busy_receivers_loop(layers):
    layer = layers(relay=False)
    busy, other = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("dashboard", busy)
    await layer.group_add("dashboard", other)
    busy_thread, busy_got = receiver_in_a_thread(layer, busy, busy_for=1.5)
    other_thread, other_got = receiver_in_a_thread(layer, other)

    began = time.monotonic()
    await layer.group_send("dashboard", {"type": "oaweb.event", "n": 1})
    sent_in = time.monotonic() - began
    other_thread.join(5)
    busy_thread.join(5)
    assert sent_in < 0.3, f"group_send waited {sent_in:.2f} s for a blocked loop"
    assert other_got["message"]["n"] == 1 and other_got["at"] - began < 0.5
    assert busy_got["message"]["n"] == 1  # delivered once its loop is free again


async def test_a_send_before_anyone_receives_is_kept(layers):
    layer = layers(relay=False)
    channel = await layer.new_channel()
    await layer.group_add("g", channel)
    await asyncio.to_thread(lambda: asyncio.run(layer.group_send("g", {"type": "x", "n": 2})))
    assert (await asyncio.wait_for(layer.receive(channel), 1))["n"] == 2


async def test_members_joining_and_leaving_while_another_thread_sends(layers):
    layer = layers(relay=False)
    stop = threading.Event()
    failures = []

    def send_all_the_time():
        async def sends():
            while not stop.is_set():
                try:
                    await layer.group_send("g", {"type": "x"})
                except Exception as exc:  # what the publisher would log and retry with a back-off
                    failures.append(exc)
                await asyncio.sleep(0)

        asyncio.run(sends())

    sender = threading.Thread(target=send_all_the_time)
    sender.start()
    try:
        for _ in range(300):
            channel = await layer.new_channel()
            await layer.group_add("g", channel)
            await asyncio.sleep(0)
            await layer.group_discard("g", channel)
    finally:
        stop.set()
        sender.join(5)
    assert failures == []


async def test_a_group_send_reaches_another_process_on_the_same_database(tmp_path, layers):
    """Two layers stand for two processes: the server (it receives) and `run_workflow` (it publishes)."""
    server = layers(relay_dir=str(tmp_path))
    cli = layers(relay_dir=str(tmp_path))
    channel = await server.new_channel()
    await server.group_add("dashboard", channel)
    receiving = asyncio.ensure_future(server.receive(channel))
    await asyncio.sleep(0.05)  # the server listens once a consumer receives

    began = time.monotonic()
    await asyncio.to_thread(lambda: asyncio.run(cli.group_send("dashboard", {"type": "oaweb.event", "n": 3})))
    done, _ = await asyncio.wait([receiving], timeout=2)
    assert done, "the other process's group send never arrived"
    assert receiving.result() == {"type": "oaweb.event", "n": 3}
    assert time.monotonic() - began < 0.5
    assert os.path.exists(server.relay.path)
    assert cli.relay.path is None  # a process without consumers does not listen


async def test_the_relay_forgets_a_process_that_is_gone(tmp_path, layers):
    cli = layers(relay_dir=str(tmp_path))
    stale = tmp_path / f"{cli.relay.database_key()}-999999-deadbeef.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(stale))
    sock.close()  # the file stays, nobody listens: a crashed server's
    await cli.group_send("dashboard", {"type": "oaweb.event"})
    assert not stale.exists()


async def test_another_databases_processes_are_not_reached(tmp_path, monkeypatch, layers):
    server = layers(relay_dir=str(tmp_path))
    channel = await server.new_channel()
    await server.group_add("dashboard", channel)
    receiving = asyncio.ensure_future(server.receive(channel))
    await asyncio.sleep(0.05)
    other = layers(relay_dir=str(tmp_path))
    monkeypatch.setattr(other.relay, "database_key", lambda: "another-db")
    assert other.relay.peers() == []
    await other.group_send("dashboard", {"type": "oaweb.event"})
    await asyncio.sleep(0.2)
    assert not receiving.done()
    receiving.cancel()
