"""The worker registry (online, lost) and /healthz (200 or 503)."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from tests.conftest import wait_until
from workflows.execution.workers import Worker


def test_a_running_worker_is_online_and_healthz_is_200(workers, client):
    assert wait_until(lambda: Worker.objects.online().exists())

    response = client.get("/healthz")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["database"] == "ok" and body["workers"]["online"] >= 1
    worker = Worker.objects.online().first()
    assert worker.queues and worker.last_heartbeat


@pytest.mark.django_db
def test_healthz_is_503_without_any_worker(client):
    Worker.objects.create(name="gone:1", hostname="gone", pid=1, last_heartbeat=timezone.now() - timedelta(hours=1))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["workers"] == {"online": 0, "lost": 1}


@pytest.mark.django_db
def test_a_worker_that_stops_beating_is_lost():
    stale = timezone.now() - timedelta(seconds=3 * settings.OAWEB_HEARTBEAT_SECONDS + 1)
    worker = Worker.objects.create(name="h:2", hostname="h", pid=2, last_heartbeat=stale)

    assert worker.is_lost and worker.status == "lost"
    assert list(Worker.objects.lost()) == [worker]


@pytest.mark.distributed
def test_healthz_is_503_when_redis_is_down(workers, client, monkeypatch):
    if settings.EMBEDDED:
        pytest.skip("embedded mode uses no Redis")
    import redis

    from workflows.execution import state

    assert wait_until(lambda: Worker.objects.online().exists())
    unreachable = state.RedisRunState(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5))
    monkeypatch.setattr(state, "_store", unreachable)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["redis"].startswith("error")


@pytest.mark.distributed
@pytest.mark.chaos
def test_a_killed_worker_shows_as_lost_within_a_minute(workers, worker_processes):
    doomed = worker_processes.start("doomed-registry", queues="nowhere", concurrency=1)
    try:
        assert wait_until(lambda: Worker.objects.online().filter(pid=doomed.pid).exists())
        doomed.kill()
        killed = time.monotonic()
        assert wait_until(lambda: Worker.objects.lost().filter(pid=doomed.pid).exists(), timeout=60)
        assert time.monotonic() - killed < 60
        worker = Worker.objects.get(pid=doomed.pid, hostname__isnull=False, name__endswith=f":{doomed.pid}")
        assert worker.queues == ["nowhere"] and worker.status == "lost"
    finally:
        worker_processes.stop("doomed-registry")
