"""Formatting for the metrics and workers pages (tested in tests/metrics/test_formatting.py)."""

from django import template

from workflows.templatetags.oaweb import duration

register = template.Library()


@register.filter
def rate(fraction) -> str:
    """A fraction 0..1 as `12.5 %` (`0 %`, `100 %`); none (nothing ran) as `–`."""
    if fraction is None or fraction == "":
        return "–"
    value = float(fraction) * 100
    if value == 0 or value == 100:
        return f"{value:.0f} %"
    return f"{value:.1f} %" if value >= 0.1 else "<0.1 %"


@register.filter
def latency(seconds) -> str:
    """Seconds as `850 µs` below a millisecond, `12.3 ms` below 10 ms, else like `duration`."""
    if seconds is None or seconds == "":
        return "–"
    seconds = float(seconds)
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 0.01:
        return f"{seconds * 1000:.1f} ms"
    return duration(seconds)


@register.filter
def per_minute(count, minutes) -> str:
    """A count over `minutes` as a rate per minute, like `3.5/min`."""
    try:
        value = float(count) / float(minutes)
    except (TypeError, ValueError, ZeroDivisionError):
        return "–"
    return f"{value:.0f}/min" if value >= 10 else f"{value:.1f}/min"
