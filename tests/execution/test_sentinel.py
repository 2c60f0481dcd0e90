"""Redis Sentinel: the run-state store finds the master through a real sentinel."""

import shutil
import socket
import subprocess
import time

import pytest
import redis
from django.conf import settings

from workflows.execution.state import RedisRunState, redis_client

pytestmark = pytest.mark.distributed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def sentinel(tmp_path):
    if settings.EMBEDDED:
        pytest.skip("needs Redis (distributed mode)")
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    master = redis.Redis.from_url(settings.REDIS_URL)
    port = free_port()
    config = tmp_path / "sentinel.conf"
    host, master_port = (
        master.connection_pool.connection_kwargs["host"],
        master.connection_pool.connection_kwargs["port"],
    )
    config.write_text(f"port {port}\nbind 127.0.0.1\nsentinel monitor oaweb-test {host} {master_port} 1\n")
    process = subprocess.Popen(
        ["redis-server", str(config), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        probe = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if probe.execute_command("SENTINEL", "get-master-addr-by-name", "oaweb-test"):
                    break
            except redis.ConnectionError:
                pass
            time.sleep(0.1)
        probe.close()
        yield port
    finally:
        process.terminate()
        process.wait(10)


def test_the_store_reaches_the_master_named_by_the_sentinel(sentinel, settings):
    real_url = settings.REDIS_URL
    settings.REDIS_SENTINELS = [("127.0.0.1", sentinel)]
    settings.REDIS_SENTINEL_MASTER = "oaweb-test"
    # With Sentinel, REDIS_URL only gives the db and password: its host is never dialled.
    settings.REDIS_URL = real_url.replace("127.0.0.1:6379", "127.0.0.1:1")
    store = RedisRunState(redis_client())

    store.ping()
    assert store.reserve_slot("sentinel-test", 60) == 0
    assert store.reserve_slot("sentinel-test", 60) > 59
    # The slot is on the master the sentinel named.
    direct = redis.Redis.from_url(real_url)
    assert direct.exists("oaweb:sentinel-test")
    direct.delete("oaweb:sentinel-test")
    direct.close()
