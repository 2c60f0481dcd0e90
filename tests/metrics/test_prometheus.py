"""/metrics: Prometheus text collected from the database and Redis at scrape time."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from tests.api.conftest import as_user
from tests.conftest import noop_definition
from workflows.definitions.validation import validate
from workflows.execution.workers import Worker
from workflows.metrics import timings

pytestmark = pytest.mark.django_db
METRICS_TOKEN = "s3cret-token"


def scrape(client=None, **headers) -> dict:
    """{sample name: {frozenset(labels): value}} of one scrape, with the token as Prometheus sends it."""
    headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {METRICS_TOKEN}")
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples: dict = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return samples


def value(samples, name, **labels):
    return samples[name][frozenset(labels.items())]


def test_known_runs_give_counters_and_histograms(known_runs):
    samples = scrape()

    assert value(samples, "oaweb_runs_total", workflow="hello", status="succeeded") == 90
    assert value(samples, "oaweb_runs_total", workflow="hello", status="failed") == 10
    assert value(samples, "oaweb_runs_total", workflow="hello", status="cancelled") == 0
    assert value(samples, "oaweb_steps_total", component="core.noop", status="failed") == 10
    # 1..100 s: 10 runs took at most 10 s, 25 at most 25 s, all 100 at most 100 s.
    assert value(samples, "oaweb_run_duration_seconds_bucket", workflow="hello", le="10.0") == 10
    assert value(samples, "oaweb_run_duration_seconds_bucket", workflow="hello", le="25.0") == 25
    assert value(samples, "oaweb_run_duration_seconds_bucket", workflow="hello", le="100.0") == 100
    assert value(samples, "oaweb_run_duration_seconds_bucket", workflow="hello", le="+Inf") == 100
    assert value(samples, "oaweb_run_duration_seconds_count", workflow="hello") == 100
    assert value(samples, "oaweb_run_duration_seconds_sum", workflow="hello") == pytest.approx(5050)
    assert value(samples, "oaweb_step_duration_seconds_bucket", component="core.noop", le="5.0") == 50
    assert value(samples, "oaweb_step_duration_seconds_sum", component="core.noop") == pytest.approx(505)
    assert value(samples, "oaweb_step_queue_wait_seconds_bucket", component="core.noop", le="0.0025") == 100
    assert value(samples, "oaweb_step_input_bytes_total", component="core.noop") == 100 * len('{"value": "xxxxxxxxxx"}')


def test_workers_and_queue_depth_are_gauges(db):
    now = timezone.now()
    Worker.objects.create(name="a:1", hostname="a", pid=1, queues=["default"], concurrency=4, last_heartbeat=now)
    Worker.objects.create(name="b:2", hostname="b", pid=2, last_heartbeat=now - timedelta(hours=1))

    samples = scrape()

    assert value(samples, "oaweb_workers_online") == 1
    assert value(samples, "oaweb_workers", status="lost") == 1
    assert value(samples, "oaweb_worker_slots") == 4
    assert value(samples, "oaweb_queue_depth", queue="default") == 0


def test_where_time_goes_is_exported(owner, components):
    timings.recorder.reset()
    api = as_user(APIClient(), owner)
    assert api.get("/api/v1/workflows/").status_code == 200
    assert validate(noop_definition())["valid"]

    samples = scrape()

    requests = samples["oaweb_api_requests_total"]
    assert requests[frozenset({"method": "GET", "route": "/api/v1/workflows/", "status": "2xx"}.items())] >= 1
    assert value(samples, "oaweb_validation_duration_seconds_count") >= 1
    assert value(samples, "oaweb_component_lookup_duration_seconds_count") >= 1


def test_a_token_is_required_when_set(settings_token):
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert Client().get("/metrics").headers["WWW-Authenticate"].startswith("Bearer")
    scrape(HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")


def test_post_is_refused():
    assert Client().post("/metrics").status_code == 405


@pytest.fixture(autouse=True)
def settings_token(settings):
    """With DEBUG off (as here) /metrics needs a token (tests/metrics/test_metrics_access.py)."""
    settings.OAWEB_METRICS_TOKEN = METRICS_TOKEN


@pytest.mark.distributed
def test_queue_depth_counts_every_priority_list_in_redis(db):
    if settings.EMBEDDED:
        pytest.skip("embedded mode has no Redis broker")
    from workflows.execution.state import get_store

    client = get_store().client
    Worker.objects.create(name="q:1", hostname="q", pid=1, queues=["metrics-q"], last_heartbeat=timezone.now())
    client.delete("metrics-q", "metrics-q:5")
    try:
        client.lpush("metrics-q", "m1", "m2")
        client.lpush("metrics-q:5", "m3")

        assert value(scrape(), "oaweb_queue_depth", queue="metrics-q") == 3
    finally:
        client.delete("metrics-q", "metrics-q:5")
