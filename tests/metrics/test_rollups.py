"""Finished runs become rollups: known durations give the expected counts and percentiles."""

import math
import random
from datetime import timedelta

import pytest

from tests.metrics.helpers import finished_run, recently
from workflows.metrics import rollups
from workflows.metrics.reports import finished_since, report
from workflows.metrics.rollups import HOUR, MINUTE, TOTAL, MetricRollup, PendingRollup


def test_bucket_boundaries_are_fixed_preferred_numbers_at_most_28_percent_apart():
    assert rollups.BOUNDS[:11] == (0.001, 0.00125, 0.0016, 0.002, 0.0025, 0.0032, 0.004, 0.005, 0.0063, 0.008, 0.01)
    assert rollups.BOUNDS[-1] == 100000.0 and rollups.BUCKETS == 82
    assert rollups.WORST_RELATIVE_ERROR == pytest.approx(0.28)
    assert set(rollups.EXPORTED_BOUNDS) <= set(rollups.BOUNDS)


def test_percentiles_of_1_to_100_seconds_are_exact_at_bucket_edges():
    counts = [0] * rollups.BUCKETS
    for seconds in range(1, 101):
        counts[rollups.bucket_of(seconds)] += 1

    assert rollups.percentile(counts, 0.5) == pytest.approx(50)
    assert rollups.percentile(counts, 0.95) == pytest.approx(95)
    assert rollups.percentile(counts, 0.99) == pytest.approx(99)
    assert rollups.percentile([0] * rollups.BUCKETS, 0.5) is None


@pytest.mark.parametrize("seed", range(5))
def test_a_percentile_is_never_further_than_the_documented_bound(seed):
    rng = random.Random(seed)
    values = sorted(rng.lognormvariate(rng.uniform(-6, 4), rng.uniform(0.1, 2)) for _ in range(rng.randint(1, 3000)))
    counts = [0] * rollups.BUCKETS
    for value in values:
        counts[rollups.bucket_of(value)] += 1
    for fraction in (0.5, 0.95, 0.99):
        exact = values[max(0, math.ceil(fraction * len(values)) - 1)]  # the ceil(rank)-th value
        estimate = rollups.percentile(counts, fraction)
        assert abs(estimate - exact) <= max(rollups.WORST_RELATIVE_ERROR * exact, 0.001) + 1e-9


@pytest.mark.django_db
def test_known_runs_give_known_counts_and_percentiles(known_runs, owner):
    page = report(owner, "1h")

    assert page["runs"]["count"] == 100 and page["runs"]["failed"] == 10 and page["runs"]["succeeded"] == 90
    assert page["runs"]["failure_rate"] == pytest.approx(0.1)
    assert (page["runs"]["p50"], page["runs"]["p95"], page["runs"]["p99"]) == pytest.approx((50, 95, 99))
    [noop] = page["components"]
    assert noop["name"] == "core.noop" and noop["count"] == 100 and noop["failed"] == 10
    assert (noop["p50"], noop["p95"], noop["p99"]) == pytest.approx((5.0, 9.5, 9.9))
    assert noop["wait_p50"] == pytest.approx(0.002, rel=rollups.WORST_RELATIVE_ERROR)
    assert noop["input_bytes"] == len('{"value": "xxxxxxxxxx"}')  # PostgreSQL and SQLite store this same text


@pytest.mark.django_db
def test_each_run_is_added_to_its_minute_its_hour_and_all_time(workflow):
    finished = recently()
    finished_run(workflow, 2.0, finished=finished, steps=[("core.noop", "succeeded", 1.0, 0.1)] * 1)
    finished_run(workflow, 4.0, finished=finished, steps=[("core.noop", "skipped", 0, 0)])

    for period in (MINUTE, HOUR, TOTAL):
        run_row = MetricRollup.objects.get(period=period, workflow=workflow, component="")
        step_row = MetricRollup.objects.get(period=period, workflow=workflow, component="core.noop")
        assert (run_row.count, run_row.succeeded, run_row.duration_count, run_row.duration_sum) == (2, 2, 2, 6.0)
        assert (step_row.count, step_row.succeeded, step_row.skipped, step_row.duration_count) == (2, 1, 1, 1)
        assert step_row.start == rollups.period_start(finished, period)


@pytest.mark.django_db
def test_steps_count_in_the_minute_they_finished(workflow):
    finished_run(workflow, 3600, finished=recently())
    early = recently() - timedelta(minutes=30)
    run = finished_run(workflow, 3600, finished=recently() - timedelta(seconds=1))
    run.steps.create(step_id="late", component="core.noop", status="succeeded", started=early, finished=early)
    MetricRollup.objects.all().delete()
    rollups.run_finished(run.pk)
    rollups.add_pending()

    step_row = MetricRollup.objects.get(period=MINUTE, component="core.noop")
    assert step_row.start == rollups.period_start(early, MINUTE)


@pytest.mark.django_db
def test_a_run_still_running_adds_nothing(workflow):
    run = finished_run(workflow, 1.0)
    MetricRollup.objects.all().delete()
    type(run).objects.filter(pk=run.pk).update(status="running", finished=None)

    rollups.run_finished(run.pk)
    rollups.add_pending()

    assert not MetricRollup.objects.exists()


@pytest.mark.django_db
def test_the_api_summary_window_counts_finished_runs_from_the_rollups(workflow, owner):
    finished_run(workflow, 1.0, steps=[("core.noop", "succeeded", 0.5, 0.01)])
    finished_run(workflow, 3.0, status="failed", steps=[("core.noop", "failed", 2.0, 0.01)])

    summary = finished_since(owner, recently() - timedelta(minutes=10))

    assert summary["runs"] == {"succeeded": 1, "failed": 1}
    assert summary["steps"] == {"succeeded": 1, "failed": 1}
    assert summary["run_seconds"]["p50"] == pytest.approx(1.0, rel=rollups.WORST_RELATIVE_ERROR)
    assert summary["run_seconds"]["p99"] == pytest.approx(3.0, rel=rollups.WORST_RELATIVE_ERROR)


@pytest.mark.django_db
def test_a_finished_run_waits_on_the_list_until_added_and_is_added_once(workflow):
    run = finished_run(workflow, 1.0, steps=[("core.noop", "succeeded", 0.5, 0.01)])
    MetricRollup.objects.all().delete()

    rollups.run_finished(run.pk)
    rollups.run_finished(run.pk)  # noted twice (it can't be, but it must not count twice)
    assert not MetricRollup.objects.exists()
    assert PendingRollup.objects.filter(run=run).exists()

    assert rollups.add_pending() == 1
    assert rollups.add_pending() == 0
    assert not PendingRollup.objects.exists()
    row = MetricRollup.objects.get(period=TOTAL, workflow=workflow, component="")
    assert (row.count, row.succeeded) == (1, 1)


@pytest.mark.django_db
def test_the_list_is_added_in_batches(workflow):
    runs = [finished_run(workflow, 1.0) for _ in range(5)]
    MetricRollup.objects.all().delete()
    for run in runs:
        rollups.run_finished(run.pk)

    assert rollups.add_pending(batch=2) == 5
    assert MetricRollup.objects.get(period=TOTAL, workflow=workflow, component="").count == 5


@pytest.mark.django_db
def test_the_metrics_page_adds_what_finished_before_it_reads(workflow, owner):
    run = finished_run(workflow, 1.0)
    MetricRollup.objects.all().delete()
    rollups.run_finished(run.pk)

    assert report(owner, "1h")["runs"]["count"] == 1
