"""The workers page: hostname, queues, concurrency, active steps, last heartbeat, online or lost."""

import re
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.metrics.helpers import finished_run
from workflows.execution.workers import Worker

URL = "/workers/"


def status_of(html: str, name: str) -> str | None:
    row = re.search(rf'<tr data-worker="{re.escape(name)}".*?</tr>', html, re.S)
    if row is None:
        return None
    return re.search(r'data-col="status">(\w+)<', row.group(0))[1]


@pytest.mark.django_db
def test_every_worker_shows_its_queues_load_and_status(owner, login, workflow):
    now = timezone.now()
    Worker.objects.create(
        name="alive:10", hostname="alive", pid=10, queues=["default", "gpu"], concurrency=8, last_heartbeat=now
    )
    stale = now - timedelta(seconds=3 * settings.OAWEB_HEARTBEAT_SECONDS + 1)
    Worker.objects.create(name="gone:11", hostname="gone", pid=11, queues=["default"], last_heartbeat=stale)
    run = finished_run(workflow, 1.0)
    run.steps.create(step_id="busy", component="core.noop", status="running", worker="alive:10")

    html = login(owner).get(URL).content.decode()

    assert status_of(html, "alive:10") == "online" and status_of(html, "gone:11") == "lost"
    alive = re.search(r'<tr data-worker="alive:10".*?</tr>', html, re.S).group(0)
    assert '<span class="tag">gpu</span>' in alive
    assert 'data-col="concurrency">8<' in alive and 'data-col="active">1<' in alive
    assert '<td data-col="heartbeat"><time datetime=' in alive


@pytest.mark.django_db
def test_a_worker_silent_for_a_day_is_hidden_and_none_shows_an_empty_state(owner, login):
    Worker.objects.create(name="old:1", hostname="old", pid=1, last_heartbeat=timezone.now() - timedelta(days=2))

    html = login(owner).get(URL).content.decode()

    assert status_of(html, "old:1") is None and "No worker has reported in the last day" in html


@pytest.mark.django_db
def test_the_table_refreshes_itself_through_htmx(owner, login):
    html = login(owner).get(URL, HTTP_HX_REQUEST="true").content.decode()

    assert "<html" not in html and 'hx-trigger="every 5s"' in html


@pytest.mark.django_db
def test_anonymous_is_sent_to_login_and_post_is_refused(owner, login):
    assert Client().get(URL).status_code == 302
    assert login(owner).post(URL).status_code == 405


def test_lost_shows_within_a_minute_with_default_settings():
    from workflows.execution.workers import MISSED_BEATS

    assert MISSED_BEATS * 5 + 5 < 60  # 3 beats of the default 5 s, plus the page's 5 s refresh


@pytest.mark.distributed
@pytest.mark.chaos
def test_a_killed_worker_shows_as_lost_on_the_page(workers, worker_processes, staff, login):
    client = login(staff)
    doomed = worker_processes.start("doomed-page", queues="nowhere", concurrency=1)
    try:
        name = None
        deadline = time.monotonic() + 15
        while name is None and time.monotonic() < deadline:
            worker = Worker.objects.filter(pid=doomed.pid).first()
            name = worker.name if worker else None
            time.sleep(0.1)
        assert name and status_of(client.get(URL).content.decode(), name) == "online"
        doomed.kill()
        killed = time.monotonic()
        while status_of(client.get(URL, HTTP_HX_REQUEST="true").content.decode(), name) != "lost":
            assert time.monotonic() - killed < 60, "still online a minute after it was killed"
            time.sleep(0.5)
    finally:
        worker_processes.stop("doomed-page")
