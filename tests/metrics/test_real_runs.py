"""Real runs on real workers (embedded thread, or runworker processes) reach the rollups, the page and /metrics."""

import time

import pytest
from django.conf import settings
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import wait_until
from workflows.execution import runs as engine
from workflows.execution.workers import Worker
from workflows.metrics import reports, rollups, timings
from workflows.metrics.rollups import TOTAL, MetricRollup
from workflows.models import Team, Workflow

DEFINITION = {
    "id": "metrics-real",
    "steps": [
        {"id": "a", "component": "core.noop", "inputs": {"n": 1}},
        {"id": "b", "component": "core.noop", "depends_on": ["a"]},
        {"id": "c", "component": "core.fail", "inputs": {"times": 5}, "depends_on": ["a"], "when": "{{ inputs.fail }}"},
    ],
    "inputs": {"fail": {"type": "boolean", "default": False}},
}
METRICS_TOKEN = "s3cret-token"


@pytest.fixture(autouse=True)
def metrics_token(settings):
    """With DEBUG off (as here) /metrics needs a token: these scrape as Prometheus does."""
    settings.OAWEB_METRICS_TOKEN = METRICS_TOKEN


def scrape_value(name, **labels):
    text = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}").content.decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


def test_concurrent_runs_are_each_counted_once(workers, staff):
    version, _ = Workflow.import_definition(DEFINITION, team=Team.default())
    runs = [engine.start_run(version, {"fail": n % 4 == 0}) for n in range(12)]
    runs = [engine.wait_for_run(run, timeout=60) for run in runs]
    assert sorted(run.status for run in runs) == ["failed"] * 3 + ["succeeded"] * 9
    rollups.add_pending()  # what a worker's next heartbeat, or a metrics page, does

    total = {row.component: row for row in MetricRollup.objects.filter(period=TOTAL, workflow=version.workflow)}
    assert (total[""].count, total[""].succeeded, total[""].failed) == (12, 9, 3)
    assert (total["core.noop"].count, total["core.noop"].succeeded) == (24, 24)
    # `c` is skipped (when false) in 9 runs, and fails in 3.
    assert (total["core.fail"].count, total["core.fail"].skipped, total["core.fail"].failed) == (12, 9, 3)
    assert total["core.noop"].wait_count == 24 and total["core.noop"].duration_count == 24

    page = reports.report(staff, "1h")
    assert page["runs"]["count"] == 12 and page["runs"]["failed"] == 3
    assert scrape_value("oaweb_runs_total", workflow="metrics-real", status="succeeded") == 9
    assert scrape_value("oaweb_steps_total", component="core.noop", status="succeeded") == 24


def test_a_cancelled_run_counts_as_cancelled(workers):
    definition = {"id": "metrics-cancel", "steps": [{"id": "z", "component": "core.sleep", "inputs": {"seconds": 30}}]}
    version, _ = Workflow.import_definition(definition, team=Team.default())
    run = engine.start_run(version, {})
    deadline = time.monotonic() + 20
    while not run.steps.filter(status="running").exists() and time.monotonic() < deadline:
        time.sleep(0.05)

    assert engine.cancel_run(run)
    rollups.add_pending()

    row = MetricRollup.objects.get(period=TOTAL, workflow=version.workflow, component="")
    step = MetricRollup.objects.get(period=TOTAL, workflow=version.workflow, component="core.sleep")
    assert (row.count, row.cancelled) == (1, 1) and (step.count, step.cancelled) == (1, 1)


def test_queue_depth_and_busy_workers_are_sampled_for_the_charts(workers, staff):
    assert wait_until(lambda: Worker.objects.online().exists())

    reports.sample_gauges()

    chart = reports.report(staff, "1h")["chart"]
    assert settings.CELERY_TASK_DEFAULT_QUEUE in chart["queues"]
    assert chart["workers"]["slots"][-1] >= 1


@pytest.mark.distributed
def test_timings_of_worker_processes_reach_metrics_through_redis(workers, monkeypatch):
    if settings.EMBEDDED:
        pytest.skip("embedded mode keeps timings in its one process")
    version, _ = Workflow.import_definition({**DEFINITION, "id": "metrics-timings"}, team=Team.default())
    # Nothing from this process: what shows came from the runworker processes.
    timings.recorder.reset()
    monkeypatch.setattr(timings, "observe", lambda *args, **kwargs: None)
    before = scrape_value("oaweb_component_lookup_duration_seconds_count") or 0

    engine.wait_for_run(engine.start_run(version, {}), timeout=60)

    # Workers flush at least every heartbeat (1 s in the tests).
    assert wait_until(lambda: (scrape_value("oaweb_component_lookup_duration_seconds_count") or 0) > before + 1)
