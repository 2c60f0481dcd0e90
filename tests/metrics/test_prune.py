"""prune_runs: old finished runs go, their numbers stay in the rollups and on the charts."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.metrics.helpers import finished_run
from workflows.execution.models import Run, StepRun
from workflows.metrics import prune
from workflows.metrics.reports import report
from workflows.metrics.rollups import HOUR, MINUTE, MetricRollup

pytestmark = pytest.mark.django_db


def test_old_finished_runs_go_and_the_charts_keep_them(workflow, owner):
    old = finished_run(
        workflow, 5.0, finished=timezone.now() - timedelta(days=3), steps=[("core.noop", "succeeded", 1, 0)]
    )
    recent = finished_run(workflow, 5.0, steps=[("core.noop", "succeeded", 1, 0)])
    running = Run.objects.create(workflow=workflow, version=workflow.latest_version(), status="running")
    Run.objects.filter(pk=running.pk).update(created=timezone.now() - timedelta(days=40))
    before = report(owner, "7d")["runs"]["count"]

    out = io.StringIO()
    call_command("prune_runs", "--older-than", "2d", stdout=out)

    assert out.getvalue().startswith("deleted 1 run finished")

    assert set(Run.objects.values_list("pk", flat=True)) == {recent.pk, running.pk}
    assert not StepRun.objects.filter(run_id=old.pk).exists()
    assert before == report(owner, "7d")["runs"]["count"] == 2
    assert MetricRollup.objects.filter(period=HOUR, component="").count() >= 1


def test_minute_rollups_older_than_eight_days_go_hour_rollups_stay(workflow):
    finished_run(workflow, 1.0, finished=timezone.now() - timedelta(days=9))

    prune.prune_runs(timezone.now() - timedelta(days=30))

    assert not MetricRollup.objects.filter(period=MINUTE).exists()
    assert MetricRollup.objects.filter(period=HOUR).exists()


def test_runs_go_in_batches(workflow):
    for _ in range(5):
        finished_run(workflow, 1.0, finished=timezone.now() - timedelta(hours=5))

    assert prune.prune_runs(timezone.now() - timedelta(hours=1), batch=2) == 5
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    "text, expected", [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)), (" 1d ", timedelta(days=1))]
)
def test_ages_are_days_or_hours(text, expected):
    assert prune.parse_age(text) == expected


@pytest.mark.parametrize("text", ["30", "d", "1w", "-1d", "1.5d", ""])
def test_a_bad_age_is_refused(text):
    with pytest.raises(CommandError):
        call_command("prune_runs", "--older-than", text)


def test_the_daily_task_follows_the_setting(workflow, settings, monkeypatch):
    monkeypatch.setattr(prune, "close_old_connections", lambda: None)  # the test's connection is in a transaction
    finished_run(workflow, 1.0, finished=timezone.now() - timedelta(days=40))

    settings.OAWEB_PRUNE_AFTER_DAYS = 0
    assert prune.prune_runs_task() == 0 and Run.objects.exists()
    settings.OAWEB_PRUNE_AFTER_DAYS = 30
    assert prune.prune_runs_task() == 1 and not Run.objects.exists()


def test_beat_gets_a_daily_entry_for_it(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["oaweb-prune-runs"]

    assert entry["task"] == "oaweb.prune_runs" == prune.prune_runs_task.name
    assert entry["schedule"].hour == {3} and entry["schedule"].minute == {17}
