"""A window is read from the coarsest rollups that cover it: every run counted once, none outside."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.metrics.helpers import finished_run
from workflows.metrics import rollups
from workflows.metrics.reports import finished_since, report, window_tiles
from workflows.metrics.rollups import DAY, HOUR, MINUTE

# 2026-11-28 14:37:20 UTC: mid-hour, mid-day, so every grain has a partial edge.
NOW = datetime(2026, 11, 28, 14, 37, 20, tzinfo=UTC)


def readers(tiles, minute):
    """How many tiles read the row of each grain that holds `minute`."""
    count = 0
    for period, start, before in tiles:
        row = rollups.period_start(minute, period)
        if row >= start and (before is None or row < before):
            count += 1
    return count


@pytest.mark.parametrize(
    "since",
    [
        NOW.replace(second=0) - timedelta(minutes=59),  # inside one hour
        NOW.replace(minute=0, second=0) - timedelta(hours=23, minutes=55),  # the 24 h page: 5-minute aligned
        NOW.replace(minute=0, second=0) - timedelta(hours=167),  # the 7 d page: hour aligned
        datetime(2026, 11, 25, tzinfo=UTC),  # a midnight
        datetime(2026, 11, 25, 23, 59, tzinfo=UTC),
        NOW.replace(minute=0, second=0),  # the current hour
    ],
)
def test_a_window_reads_each_minute_once_and_nothing_before_it(since):
    tiles = window_tiles(since, NOW)

    minute = rollups.period_start(since - timedelta(days=1), DAY)
    while minute <= NOW:
        assert readers(tiles, minute) == (1 if minute >= since else 0), minute
        minute += timedelta(minutes=1)


def test_a_week_is_mostly_days():
    since = NOW.replace(minute=0, second=0) - timedelta(hours=167)
    assert [period for period, _, _ in window_tiles(since, NOW)] == [MINUTE, MINUTE, HOUR, DAY, HOUR]
    assert window_tiles(since, NOW)[3][1:] == (datetime(2026, 11, 22, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC))
    assert HOUR in {period for period, _, _ in window_tiles(NOW - timedelta(hours=5), NOW)}


@pytest.mark.django_db
def test_the_7_day_page_counts_runs_across_days_hours_and_minutes_once(workflow, owner):
    now = datetime.now(UTC)
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=167)
    inside = [
        first,  # the window's first moment
        first + timedelta(minutes=59),
        now - timedelta(days=3, minutes=17),
        (now - timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0),  # a midnight
        now - timedelta(hours=5),
        now - timedelta(minutes=3),
    ]
    for finished in inside:
        finished_run(workflow, 2.0, finished=finished, steps=[("core.noop", "succeeded", 1.0, 0.1)])
    finished_run(workflow, 2.0, finished=first - timedelta(seconds=1))  # just before the window

    page = report(owner, "7d", now=now)

    assert page["runs"]["count"] == len(inside)
    assert page["steps"]["count"] == len(inside)
    assert [component["count"] for component in page["components"]] == [len(inside)]
    assert sum(page["chart"]["runs"]) == pytest.approx(len(inside) / 60)  # hourly bins, in runs per minute
    assert finished_since(owner, first, now=now)["runs"] == {"succeeded": len(inside)}
