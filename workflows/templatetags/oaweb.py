"""Formatting for people: durations, relative times, status badges.

Kept here (and tested in tests/web/test_filters.py) so that no template
formats a number or a time by itself.
"""

from datetime import UTC, datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()


def _seconds(value) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


@register.filter
def duration(value) -> str:
    """Seconds (or a timedelta) as `850 ms`, `4.2 s`, `3 min 4 s`, `2 h 5 min`, `3 d 4 h`."""
    seconds = _seconds(value)
    if seconds is None:
        return "–"
    if seconds < 0:
        seconds = 0.0
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@register.filter
def elapsed(start, end=None) -> str:
    """The duration between two datetimes; an unfinished span counts up to now."""
    if start is None:
        return "–"
    return duration((end or timezone.now()) - start)


@register.filter
def ago(moment) -> str:
    """`just now`, `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`; older: the date."""
    if not isinstance(moment, datetime):
        return "–"
    seconds = (timezone.now() - moment).total_seconds()
    if seconds < 0:
        return "in " + duration(-seconds)
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{seconds:.0f} s ago"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago"
    if seconds < 86400:
        return f"{seconds // 3600:.0f} h ago"
    if seconds < 7 * 86400:
        return f"{seconds // 86400:.0f} d ago"
    return timezone.localtime(moment).strftime("%Y-%m-%d")


@register.simple_tag
def when(moment):
    """A <time> with the relative text and the exact UTC time on hover."""
    if not isinstance(moment, datetime):
        return "–"
    exact = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return format_html('<time datetime="{}" title="{}">{}</time>', moment.isoformat(), exact, ago(moment))


@register.simple_tag
def status(value):
    """The one status badge used everywhere (colours in app.css)."""
    return format_html('<span class="badge st-{}">{}</span>', value, value)


@register.filter
def percent(part, whole) -> int:
    """An integer 0–100 for progress bars; 0 of 0 is 0."""
    try:
        return int(100 * part / whole) if whole else 0
    except (TypeError, ValueError):
        return 0


@register.filter
def bytes_size(value) -> str:
    if value is None:
        return "–"
    value = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return "–"
