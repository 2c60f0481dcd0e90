"""The embedded mode's channel layer: in memory, safe across threads, loops and processes.

Within one process: the engine publishes from its own thread and event loop
(workflows/execution/events.py) while the WebSocket consumers wait in the
server's loop. Each channel's messages sit in a plain deque under a lock; a
receiver waits on a future of its own loop, and a send from any other thread
or loop wakes it with `call_soon_threadsafe`. A send never waits for the
receiver's loop, so one busy loop holds up nobody else's updates.

Across processes: `manage.py run_workflow` (or a shell) beside `make run`
executes its run in its own embedded worker, so its events never reached the
server's pages, which showed the run only on the dashboard's periodic refresh
(seconds late) and never on the run page. A process that has consumers
listens on a Unix datagram socket in VAR_DIR/live/, named after the database
it uses; every group send is also relayed, as JSON, to the other processes
listening there for the same database. A relayed event only says what
changed: the receiving page re-reads the database, the truth. A lost
datagram (a full buffer, a process gone) costs an update, never a run.
"""

import asyncio
import atexit
import hashlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from copy import deepcopy
from pathlib import Path

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer
from django.conf import settings

from workflows.execution import events

log = logging.getLogger(__name__)

RELAY_DIR = "live"  # under VAR_DIR
MAX_DATAGRAM = 64 * 1024  # events are a few hundred bytes; anything larger is not relayed
PEERS_TTL = 0.5  # seconds a listing of the other processes' sockets is reused
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux, 104 on macOS


class _Inbox:
    """One channel's messages (expiry, message), and the receivers waiting for one: (their loop, a future)."""

    __slots__ = ("items", "waiters")

    def __init__(self):
        self.items: deque[tuple[float, dict]] = deque()
        self.waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def _wake(loop: asyncio.AbstractEventLoop, future: asyncio.Future) -> None:
    """Wake a receiver waiting in `loop`, from that loop or from any other thread."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        _resolve(future)
        return
    try:
        loop.call_soon_threadsafe(_resolve, future)
    except RuntimeError:
        pass  # that loop is closed: its receiver is gone


class EmbeddedChannelLayer(InMemoryChannelLayer):
    extensions = ["groups", "flush"]

    def __init__(self, *args, relay: bool = True, relay_dir: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()  # guards _inboxes and groups: senders run in other threads
        self._inboxes: dict[str, _Inbox] = {}
        self.relay = Relay(self, relay_dir) if relay else None

    # --- channels ---------------------------------------------------------------

    async def send(self, channel, message):
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        self._deliver(channel, deepcopy(message))

    def _deliver(self, channel: str, message: dict) -> None:
        """Queue `message` for `channel` and wake its receivers; callable from any thread."""
        with self._lock:
            inbox = self._inboxes.setdefault(channel, _Inbox())
            if len(inbox.items) >= self.get_capacity(channel):
                raise ChannelFull(channel)
            inbox.items.append((time.time() + self.expiry, message))
            waiters, inbox.waiters = inbox.waiters, []
        for loop, future in waiters:
            _wake(loop, future)  # each looks again; the ones that find nothing wait again

    async def receive(self, channel):
        self.require_valid_channel_name(channel)
        if self.relay is not None:
            self.relay.listen()  # this process has consumers: let other processes reach them
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                self._clean_expired()
                inbox = self._inboxes.setdefault(channel, _Inbox())
                if inbox.items:
                    _, message = inbox.items.popleft()
                    self._forget_if_idle(channel, inbox)
                    return message
                waiter = (loop, loop.create_future())
                inbox.waiters.append(waiter)
            try:
                await waiter[1]
            finally:
                with self._lock:
                    if waiter in inbox.waiters:
                        inbox.waiters.remove(waiter)
                    self._forget_if_idle(channel, inbox)

    def _forget_if_idle(self, channel: str, inbox: _Inbox) -> None:
        """Drop an empty inbox nobody waits on or sends to (a consumer that left). Under the lock."""
        if inbox.items or inbox.waiters or self._inboxes.get(channel) is not inbox:
            return
        if not any(channel in members for members in self.groups.values()):
            del self._inboxes[channel]

    def _clean_expired(self):
        """As Channels' in-memory layer: drop expired messages (and their channel from its groups). Under the lock."""
        now = time.time()
        for channel, inbox in list(self._inboxes.items()):
            expired = False
            while inbox.items and inbox.items[0][0] < now:
                inbox.items.popleft()
                expired = True
            if expired:
                self._remove_from_groups(channel)
                self._forget_if_idle(channel, inbox)
        timeout = int(now) - self.group_expiry
        for members in self.groups.values():
            for name, joined in list(members.items()):
                if joined and joined < timeout:
                    members.pop(name, None)

    async def close(self):
        if self.relay is not None:
            self.relay.close()

    async def flush(self):
        with self._lock:
            self._inboxes = {}
            self.groups = {}

    # --- groups -------------------------------------------------------------------

    async def group_add(self, group, channel):
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        with self._lock:
            self.groups.setdefault(group, {})[channel] = time.time()

    async def group_discard(self, group, channel):
        self.require_valid_channel_name(channel)
        self.require_valid_group_name(group)
        with self._lock:
            members = self.groups.get(group)
            if members:
                members.pop(channel, None)
                if not members:
                    self.groups.pop(group, None)
            inbox = self._inboxes.get(channel)
            if inbox is not None:
                self._forget_if_idle(channel, inbox)

    async def group_send(self, group, message):
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self.deliver_to_group(group, message)
        if self.relay is not None:
            self.relay.forward(group, message)

    def deliver_to_group(self, group: str, message: dict) -> None:
        """Queue a copy of `message` for each member of `group` in this process; callable from any thread."""
        with self._lock:
            self._clean_expired()
            members = list(self.groups.get(group, ()))
        for channel in members:
            try:
                self._deliver(channel, deepcopy(message))
            except ChannelFull:
                pass  # as Channels' layers: a full channel misses a group message


class Relay:
    """Group messages between the embedded processes of one database, over Unix datagram sockets."""

    def __init__(self, layer: EmbeddedChannelLayer, directory: str | None = None):
        self.layer = layer
        self._directory = Path(directory) if directory else None
        self._lock = threading.Lock()
        self._started = False
        self._closed = False
        self.path: str | None = None  # this process's socket, once it listens
        self._sender: socket.socket | None = None
        self._serving: threading.Thread | None = None
        self._peers: tuple[float, list[str]] = (0.0, [])

    def directory(self) -> Path:
        return self._directory or Path(settings.VAR_DIR) / RELAY_DIR

    @staticmethod
    def database_key() -> str:
        """Which database this process uses: only processes sharing it share events."""
        db = settings.DATABASES["default"]
        name = str(db.get("NAME") or "")
        if db["ENGINE"].endswith("sqlite3") and name and not name.startswith("file:") and ":memory:" not in name:
            name = os.path.realpath(name)
        identity = "\n".join((db["ENGINE"], str(db.get("HOST") or ""), str(db.get("PORT") or ""), name))
        return hashlib.sha256(identity.encode()).hexdigest()[:12]

    def listen(self) -> None:
        """Bind this process's socket and read it in a thread, once; a failure only logs (no relay)."""
        if self._started:
            return
        with self._lock:
            if self._started:
                return
            self._started = True
            if not hasattr(socket, "AF_UNIX"):
                return
            directory = self.directory()
            path = str(directory / f"{self.database_key()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.sock")
            if len(os.fsencode(path)) > MAX_SOCKET_PATH:
                log.info("live events from other processes are off: %s is too long for a socket", path)
                return
            try:
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sock.bind(path)
            except OSError:
                log.warning("live events from other processes are off: cannot listen on %s", path, exc_info=True)
                return
            self.path = path
            self._serving = threading.Thread(
                target=self._serve, args=(sock, path), name="oaweb-live-relay", daemon=True
            )
            self._serving.start()
            atexit.register(self.close)

    def _serve(self, sock: socket.socket, path: str) -> None:
        with sock:
            while self.path == path:
                try:
                    data = sock.recv(MAX_DATAGRAM)
                except OSError:
                    break
                if self.path == path:
                    self._deliver(data)
        _unlink(path)

    def _deliver(self, data: bytes) -> None:
        try:
            relayed = json.loads(data)
            group, message = relayed["group"], relayed["message"]
            self.layer.require_valid_group_name(group)
            if not isinstance(message, dict):
                raise TypeError("not a message")
        except (ValueError, TypeError, KeyError):
            log.debug("ignoring a malformed relayed message")
            return
        self.layer.deliver_to_group(group, message)

    def close(self) -> None:
        """Stop listening (its socket file goes) and sending; at exit, or when a test's layer closes."""
        with self._lock:
            self._started = self._closed = True  # never listens nor sends again
            path, self.path = self.path, None
            sender, self._sender = self._sender, None
            serving, self._serving = self._serving, None
        if sender is not None:
            sender.close()
        if path is not None:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as waker:
                try:
                    waker.sendto(b"", path)  # wakes the reading thread, which then closes and unlinks
                except OSError:
                    pass
            if serving is not None and serving is not threading.current_thread():
                serving.join(1)

    def peers(self) -> list[str]:
        """The sockets of the other processes on this database (listed at most every PEERS_TTL)."""
        listed_at, paths = self._peers
        now = time.monotonic()
        if now - listed_at < PEERS_TTL:
            return paths
        start = self.database_key() + "-"
        try:
            with os.scandir(self.directory()) as entries:
                paths = [
                    entry.path
                    for entry in entries
                    if entry.name.startswith(start) and entry.name.endswith(".sock") and entry.path != self.path
                ]
        except OSError:
            paths = []
        self._peers = (now, paths)
        return paths

    def forward(self, group: str, message: dict) -> None:
        """Send a group message to the other processes; never raises, never blocks."""
        peers = self.peers()
        if not peers or self._closed:
            return
        try:
            data = json.dumps({"group": group, "message": message}, separators=(",", ":")).encode()
        except (TypeError, ValueError):
            return  # not JSON: local consumers had it, the others refresh from the database
        if len(data) > MAX_DATAGRAM:
            return
        for path in peers:
            try:
                self._sending_socket().sendto(data, path)
            except (ConnectionRefusedError, FileNotFoundError):
                self._forget(path)  # its process is gone
            except OSError:
                pass  # its buffer is full: that page misses an update, as a dropped socket would

    def _sending_socket(self) -> socket.socket:
        with self._lock:
            if self._sender is None:
                sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sender.setblocking(False)  # a full peer drops the datagram instead of stalling the publisher
                self._sender = sender
            return self._sender

    def _forget(self, path: str) -> None:
        _unlink(path)
        self._peers = (0.0, [])


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def drain_publisher() -> None:
    """At exit, let the publisher send what it holds: a CLI run's last events reach the server's pages."""
    began = time.monotonic()
    events.publisher.flush(timeout=1.0)
    if time.monotonic() - began > 0.001:  # it held some: flush returns once they are taken, not sent
        time.sleep(events.COALESCE_SECONDS)


atexit.register(drain_publisher)
