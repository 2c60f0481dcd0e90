"""The embedded mode's channel layer: Channels' in-memory layer, safe across threads.

An asyncio queue belongs to the loop that waits on it. The engine publishes
from its own thread and loop (workflows/execution/events.py), so a plain put would
never wake the server's loop where the WebSocket consumers wait: the update
would sit in the queue until something else woke that loop. A send for a
channel whose receiver waits in another loop is handed to that loop.
"""

import asyncio

from channels.layers import InMemoryChannelLayer


class EmbeddedChannelLayer(InMemoryChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._receiving_loops: dict[str, asyncio.AbstractEventLoop] = {}

    async def receive(self, channel):
        self._receiving_loops[channel] = asyncio.get_running_loop()
        try:
            return await super().receive(channel)
        finally:
            if channel not in self.channels and not any(channel in members for members in self.groups.values()):
                self._receiving_loops.pop(channel, None)  # the consumer is gone

    async def send(self, channel, message):
        home = self._receiving_loops.get(channel)
        if home is not None and home is not asyncio.get_running_loop() and home.is_running():
            handoff = asyncio.run_coroutine_threadsafe(super().send(channel, message), home)
            return await asyncio.wrap_future(handoff)
        return await super().send(channel, message)
