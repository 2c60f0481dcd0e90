"""Deleting old runs: finished runs (with their steps and attempts) past a cutoff, in batches.

The metric rollups stay (they are keyed by workflow, not run), so the charts
and /metrics keep their history; per-minute rollups, used only by windows of
a day or two, and gauge samples go after MINUTE_ROWS_KEEP. Run daily by beat
(settings.CELERY_BEAT_SCHEDULE, OAWEB_PRUNE_AFTER_DAYS) and by
`python manage.py prune_runs --older-than 30d`.
"""

import logging
import re
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from workflows.execution.idempotency import forget_expired
from workflows.execution.models import Run
from workflows.execution.status import RunStatus
from workflows.metrics.rollups import MINUTE, GaugeSample, MetricRollup, add_pending

log = logging.getLogger(__name__)

BATCH = 500
MINUTE_ROWS_KEEP = timedelta(days=8)  # the 24 h page and API windows up to 2 days read minute rows
UNITS = {"d": 86400, "h": 3600}


def parse_age(text: str) -> timedelta:
    """`30d`, `12h` (a whole number and a unit) as a timedelta; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*([dh])\s*", text or "")
    if not match:
        raise ValueError(f"{text!r}: expected a number of days or hours, like 30d or 12h")
    return timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])


def prune_runs(cutoff: datetime, batch: int = BATCH) -> int:
    """Delete finished runs that finished before `cutoff`; returns how many runs went."""

    add_pending()  # a run goes only once it is counted in the rollups
    deleted = 0
    while True:
        # Served by the run_status_finished index.
        ids = list(
            Run.objects.filter(status__in=RunStatus.FINAL, finished__lt=cutoff)
            .order_by()
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        with transaction.atomic():
            # A re-run keeps pointing at nothing (SET NULL) when its original goes.
            Run.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    forget_expired()  # Idempotency-Keys past their 24 h
    keep_from = timezone.now() - MINUTE_ROWS_KEEP  # whatever the cutoff: only recent windows read them
    MetricRollup.objects.filter(period=MINUTE, start__lt=keep_from).delete()
    GaugeSample.objects.filter(minute__lt=keep_from).delete()
    return deleted


@shared_task(name="oaweb.prune_runs", ignore_result=True)
def prune_runs_task() -> int:
    """Beat's daily entry point: prune runs older than OAWEB_PRUNE_AFTER_DAYS (0: keep everything)."""
    close_old_connections()
    days = settings.OAWEB_PRUNE_AFTER_DAYS
    if not days:
        return 0
    deleted = prune_runs(timezone.now() - timedelta(days=days))
    log.info("pruned %d runs finished over %d days ago", deleted, days)
    return deleted
