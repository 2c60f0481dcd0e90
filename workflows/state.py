"""The hot run state: per-run dependency counters, and a lock helper.

One interface, two implementations: Redis (distributed) and in-process
memory (embedded). The database stays the truth; this store only answers
"which children became ready when this step finished" in O(children)
instead of re-reading every parent's row. When a run's state is missing
(Redis flushed or restarted), `finish_step` answers None and the engine
rebuilds it from the StepRun rows (recovery.rebuild_run_state).

A child is enqueued only after a conditional UPDATE pending -> queued, so
even a store that answered twice could not start a step twice.
"""

import threading
import time
import uuid
from contextlib import contextmanager

from django.conf import settings

# Keys expire on their own so an abandoned run can't leak memory forever;
# a run that outlives this still works: its state is rebuilt on demand.
STATE_TTL_SECONDS = 7 * 24 * 3600
MARKER = "__run__"


class StateUnavailable(Exception):
    """The store can't be reached (e.g. Redis is down)."""


class MemoryRunState:
    """Embedded mode: everything runs in this process."""

    def __init__(self):
        self._counters: dict[int, dict[str, int]] = {}
        self._done: dict[int, set[str]] = {}
        self._locks: dict[str, float] = {}
        self._slots: dict[str, float] = {}
        self._mutex = threading.Lock()

    def ping(self) -> None:
        return None

    def init_run(self, run_id: int, waiting: dict[str, int], done=()) -> None:
        with self._mutex:
            self._counters[run_id] = dict(waiting)
            self._done[run_id] = set(done)

    def has_run(self, run_id: int) -> bool:
        return run_id in self._counters

    def finish_step(self, run_id: int, step_id: str, children) -> list[str] | None:
        with self._mutex:
            counters = self._counters.get(run_id)
            if counters is None:
                return None
            done = self._done[run_id]
            if step_id in done:
                return []
            done.add(step_id)
            ready = []
            for child in children:
                counters[child] = counters.get(child, 0) - 1
                if counters[child] == 0:
                    ready.append(child)
            return ready

    def drop_run(self, run_id: int) -> None:
        with self._mutex:
            self._counters.pop(run_id, None)
            self._done.pop(run_id, None)

    def flush(self) -> None:
        """Forget everything (tests use it to show a rebuild)."""
        with self._mutex:
            self._counters.clear()
            self._done.clear()
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


# Atomic "this step finished": idempotent through the done set, so a step
# finishing twice (a redelivered task) decrements its children only once.
FINISH_STEP_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return {} end
local ready = {}
for i = 2, #ARGV do
  if redis.call('HINCRBY', KEYS[1], ARGV[i], -1) == 0 then table.insert(ready, ARGV[i]) end
end
return ready
"""

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
        self._finish_step = client.register_script(FINISH_STEP_LUA)
        self._release = client.register_script(RELEASE_LOCK_LUA)
        self._reserve_slot = client.register_script(RESERVE_SLOT_LUA)

    @staticmethod
    def keys(run_id: int) -> tuple[str, str]:
        # One hash tag per run keeps both keys in one slot (Redis Cluster).
        return f"oaweb:run:{{{run_id}}}:waiting", f"oaweb:run:{{{run_id}}}:done"

    def _call(self, fn, *args, **kwargs):
        import redis

        try:
            return fn(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StateUnavailable(f"Redis is unreachable: {exc}") from exc

    def ping(self) -> None:
        self._call(self.client.ping)

    def init_run(self, run_id: int, waiting: dict[str, int], done=()) -> None:
        waiting_key, done_key = self.keys(run_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(waiting_key, done_key)
        pipe.hset(waiting_key, mapping={MARKER: 0, **waiting})
        if done:
            pipe.sadd(done_key, *done)
        pipe.expire(waiting_key, STATE_TTL_SECONDS)
        pipe.expire(done_key, STATE_TTL_SECONDS)
        self._call(pipe.execute)

    def has_run(self, run_id: int) -> bool:
        return bool(self._call(self.client.exists, self.keys(run_id)[0]))

    def finish_step(self, run_id: int, step_id: str, children) -> list[str] | None:
        ready = self._call(self._finish_step, keys=self.keys(run_id), args=[step_id, *children])
        if ready is None:
            return None
        return [item.decode() if isinstance(item, bytes) else item for item in ready]

    def drop_run(self, run_id: int) -> None:
        self._call(self.client.delete, *self.keys(run_id))

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

    options = {"socket_timeout": 5, "socket_connect_timeout": 5, "health_check_interval": 30}
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
