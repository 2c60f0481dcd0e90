from datetime import timedelta

import pytest
from django.utils import timezone

from workflows.templatetags.oaweb import ago, bytes_size, duration, elapsed, percent, status, when


@pytest.mark.parametrize(
    "seconds, text",
    [
        (None, "–"),
        (0.0123, "12 ms"),
        (0.85, "850 ms"),
        (4.24, "4.2 s"),
        (42, "42 s"),
        (184, "3 min 4 s"),
        (180, "3 min"),
        (2 * 3600 + 5 * 60, "2 h 5 min"),
        (3 * 86400 + 4 * 3600, "3 d 4 h"),
        (-3, "0 ms"),
    ],
)
def test_duration_reads_like_a_person_would_say_it(seconds, text):
    assert duration(seconds) == text


def test_duration_takes_a_timedelta():
    assert duration(timedelta(minutes=2, seconds=5)) == "2 min 5 s"


def test_elapsed_counts_an_open_span_up_to_now():
    start = timezone.now() - timedelta(seconds=30)
    assert elapsed(start, start + timedelta(seconds=2)) == "2.0 s"
    assert elapsed(start) in ("30 s", "31 s")
    assert elapsed(None) == "–"


def test_ago_grows_units_and_ends_in_a_date():
    now = timezone.now()
    assert ago(now) == "just now"
    assert ago(now - timedelta(seconds=40)) == "40 s ago"
    assert ago(now - timedelta(minutes=5, seconds=10)) == "5 min ago"
    assert ago(now - timedelta(hours=3)) == "3 h ago"
    assert ago(now - timedelta(days=2)) == "2 d ago"
    old = now - timedelta(days=40)
    assert ago(old) == timezone.localtime(old).strftime("%Y-%m-%d")
    assert ago(None) == "–"


def test_when_gives_the_exact_utc_time_on_hover():
    moment = timezone.now() - timedelta(minutes=2)
    html = when(moment)
    assert 'title="' + moment.strftime("%Y-%m-%d %H:%M:%S") + ' UTC"' in html
    assert "2 min ago" in html


def test_status_badge_escapes_its_value():
    assert status("running") == '<span class="badge st-running">running</span>'
    assert "<script>" not in status("<script>")


def test_percent_and_bytes():
    assert percent(1, 4) == 25
    assert percent(3, 0) == 0
    assert bytes_size(512) == "512 B"
    assert bytes_size(2048) == "2.0 KB"
    assert bytes_size(None) == "–"
