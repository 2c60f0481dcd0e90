"""Embedded mode's channel layer delivers a send made from another thread's event loop at once."""

import asyncio
import threading
import time

import pytest

from workflows.web.layers import EmbeddedChannelLayer

pytestmark = pytest.mark.asyncio


async def test_a_send_from_another_loop_wakes_the_receiver():
    layer = EmbeddedChannelLayer()
    channel = await layer.new_channel()
    await layer.group_add("g", channel)
    receiving = asyncio.create_task(layer.receive(channel))
    await asyncio.sleep(0.05)  # the receiver now waits in this loop

    def publish_from_a_thread():
        asyncio.run(layer.group_send("g", {"type": "oaweb.event", "n": 1}))

    sent_at = time.monotonic()
    threading.Thread(target=publish_from_a_thread).start()
    message = await asyncio.wait_for(receiving, timeout=2)
    assert message["n"] == 1
    assert time.monotonic() - sent_at < 1


async def test_a_send_in_the_same_loop_still_works():
    layer = EmbeddedChannelLayer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "x"})
    assert (await layer.receive(channel))["type"] == "x"
