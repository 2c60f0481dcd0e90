"""Shared hot state: locks with expiry and rate-limit slots.

One interface, two implementations: Redis (distributed) and in-process
memory (embedded). Nothing here decides a run's progress: which steps are
ready and whether a run is finished live in the database, decided in the
transaction that ends each step (transitions/). Losing this store loses
at most a lock (it expires anyway) or a rate-limit slot.
"""

import threading
import time
import uuid
from contextlib import contextmanager

from django.conf import settings


class StateUnavailable(Exception):
    """The store can't be reached (e.g. Redis is down)."""


class MemoryRunState:
    """Embedded mode: everything runs in this process."""

    def __init__(self):
        self._locks: dict[str, float] = {}
        self._slots: dict[str, float] = {}
        self._mutex = threading.Lock()

    def ping(self) -> None:
        return None

    def flush(self) -> None:
        """Forget everything (tests)."""
        with self._mutex:
            self._slots.clear()

    def reserve_slot(self, key: str, interval: float) -> float:
        """Reserve the next free slot `interval` seconds after the last one; seconds until it."""
        with self._mutex:
            now = time.monotonic()
            start = max(self._slots.get(key, 0.0), now)
            self._slots[key] = start + interval
            return start - now

    @contextmanager
    def lock(self, name: str, ttl: float):
        token_until = time.monotonic() + ttl
        with self._mutex:
            held_until = self._locks.get(name, 0)
            acquired = held_until < time.monotonic()
            if acquired:
                self._locks[name] = token_until
        try:
            yield acquired
        finally:
            if acquired:
                with self._mutex:
                    if self._locks.get(name) == token_until:
                        del self._locks[name]


# Release a lock only if we still hold it (it may have expired and been taken).
RELEASE_LOCK_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


# Rate limits as evenly spaced slots: each caller reserves the next free
# slot and is told how long to wait for it, so waiting steps don't stampede.
# Redis's clock serves every worker; the answer is a string because Redis
# truncates Lua numbers to integers.
RESERVE_SLOT_LUA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local interval = tonumber(ARGV[1])
local start = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local expire_ms = math.ceil((start + interval - now) * 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.6f', start + interval), 'PX', expire_ms)
return string.format('%.6f', start - now)
"""


class RedisRunState:
    """Distributed mode: one pooled client per process, Sentinel-aware."""

    def __init__(self, client):
        self.client = client
        self._release = client.register_script(RELEASE_LOCK_LUA)
        self._reserve_slot = client.register_script(RESERVE_SLOT_LUA)

    def _call(self, fn, *args, **kwargs):
        import redis

        try:
            return fn(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StateUnavailable(f"Redis is unreachable: {exc}") from exc

    def ping(self) -> None:
        self._call(self.client.ping)

    def flush(self) -> None:
        self._call(self.client.flushdb)

    def reserve_slot(self, key: str, interval: float) -> float:
        return float(self._call(self._reserve_slot, keys=[f"oaweb:{key}"], args=[f"{interval:.6f}"]))

    @contextmanager
    def lock(self, name: str, ttl: float):
        """A lock with expiry: a holder that dies frees it after `ttl` seconds."""
        key, token = f"oaweb:lock:{name}", uuid.uuid4().hex
        acquired = bool(self._call(self.client.set, key, token, nx=True, px=max(1, int(ttl * 1000))))
        try:
            yield acquired
        finally:
            if acquired:
                self._call(self._release, keys=[key], args=[token])


def redis_client():
    """A pooled client for REDIS_URL, or the Sentinel-elected master."""
    import redis
    from redis.sentinel import Sentinel

    # A live Redis accepts a connection in well under a second; waiting longer
    # only delays the 503 a request answers when its host is gone.
    # Commands keep 5 s: a busy Redis may be slow to answer, not gone.
    options = {"socket_timeout": 5, "socket_connect_timeout": 1, "health_check_interval": 30}
    if settings.REDIS_SENTINELS:
        url_options = redis.connection.parse_url(settings.REDIS_URL) if settings.REDIS_URL != "redis://" else {}
        sentinel = Sentinel(settings.REDIS_SENTINELS, socket_timeout=5)
        return sentinel.master_for(
            settings.REDIS_SENTINEL_MASTER,
            db=url_options.get("db", 0),
            password=url_options.get("password"),
            **options,
        )
    return redis.Redis.from_url(settings.REDIS_URL, **options)


_store = None
_store_lock = threading.Lock()


def get_store():
    """This process's store, created on first use."""
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                _store = MemoryRunState() if settings.EMBEDDED else RedisRunState(redis_client())
    return _store
