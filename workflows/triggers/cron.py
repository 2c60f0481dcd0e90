"""Cron expressions and time zones of schedules: checked as django-celery-beat and Celery beat read them."""

import zoneinfo

from celery.schedules import crontab
from django.core.exceptions import ValidationError
from django_celery_beat.validators import crontab_validator


def split_cron(expression: str) -> dict:
    """The five fields of a cron expression, named as django-celery-beat names them.

    Raises ValidationError naming the problem. Checked twice on purpose: by
    python-crontab as django-celery-beat's own CrontabSchedule validators do,
    and by Celery's crontab, which is what beat evaluates.
    """
    fields = (expression or "").split()
    if len(fields) != 5:
        raise ValidationError(
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), not {len(fields)}",
            code="cron",
        )
    try:
        crontab_validator(" ".join(fields))
    except ValidationError as exc:
        raise ValidationError(f"invalid cron expression: {'; '.join(exc.messages)}", code="cron") from None
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    named = {
        "minute": minute,
        "hour": hour,
        "day_of_month": day_of_month,
        "month_of_year": month_of_year,
        "day_of_week": day_of_week,
    }
    try:
        crontab(**named)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"invalid cron expression: {exc}", code="cron") from None
    return named


def validate_cron(expression: str) -> None:
    split_cron(expression)


def validate_timezone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        message = f"unknown time zone `{name}` (use an IANA name such as Europe/Paris)"
        raise ValidationError(message, code="timezone") from None
