"""The metrics pages' filters: failure rates, latencies, rates per minute."""

import pytest

from workflows.templatetags.metrics_format import latency, per_minute, rate


@pytest.mark.parametrize(
    "value, text", [(None, "–"), (0, "0 %"), (1, "100 %"), (0.1, "10.0 %"), (0.12345, "12.3 %"), (0.0001, "<0.1 %")]
)
def test_rate(value, text):
    assert rate(value) == text


@pytest.mark.parametrize(
    "value, text",
    [(None, "–"), (0.00035, "350 µs"), (0.0025, "2.5 ms"), (0.05, "50 ms"), (9.5, "9.5 s"), (95, "1 min 35 s")],
)
def test_latency(value, text):
    assert latency(value) == text


@pytest.mark.parametrize(
    "count, minutes, text", [(100, 60, "1.7/min"), (6000, 60, "100/min"), (1, 0, "–"), (None, 1, "–")]
)
def test_per_minute(count, minutes, text):
    assert per_minute(count, minutes) == text
