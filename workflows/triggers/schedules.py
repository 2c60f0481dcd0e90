"""Firing schedules: the task beat calls, which starts a run (the beat entries: beat.py)."""

import logging

from celery import shared_task
from django.db import close_old_connections
from django.utils import timezone

from workflows.audit.models import record
from workflows.execution import runs as engine
from workflows.execution.state import StateUnavailable
from workflows.triggers.beat import TASK_NAME, periodic_task_name, remove_periodic_task_named
from workflows.triggers.models import Schedule

log = logging.getLogger(__name__)


def fire_schedule(schedule: Schedule):
    """Start a run of the workflow's latest version with the schedule's inputs.

    Returns the Run, or None when the schedule is disabled or the run was
    refused; a refusal is logged and kept in `last_error` for the owner to see.
    """
    if not schedule.enabled:
        log.info("schedule %s is disabled; not firing", schedule.pk)
        return None
    now = timezone.now()
    try:
        run = engine.start_run(schedule.workflow, schedule.inputs, user=schedule.created_by, trigger="schedule")
    except (engine.RunRefused, StateUnavailable) as exc:
        log.warning("schedule %s (%s) of %s: run refused: %s", schedule.pk, schedule.name, schedule.workflow, exc)
        Schedule.objects.filter(pk=schedule.pk).update(last_fired=now, last_error=str(exc) or type(exc).__name__)
        return None
    Schedule.objects.filter(pk=schedule.pk).update(last_fired=now, last_run=run, last_error="")
    # Issue 20: the audit log; a schedule starts on its creator's behalf.
    record("run.start", run, user=schedule.created_by, details={"trigger": "schedule", "schedule": schedule.pk})
    return run


@shared_task(name=TASK_NAME, ignore_result=True)
def start_scheduled_run(schedule_id: int) -> int | None:
    """Beat's entry point: fire one schedule; returns the new run's id (or None)."""
    close_old_connections()  # connections outlive tasks (CELERY_DB_REUSE_MAX), as in execute_step
    schedule = Schedule.objects.select_related("workflow", "created_by").filter(pk=schedule_id).first()
    if schedule is None:
        # The schedule went with its workflow (a cascade skips Schedule.delete()):
        # drop the orphaned beat entry so it stops firing.
        log.info("schedule %s no longer exists; removing its beat entry", schedule_id)
        remove_periodic_task_named(periodic_task_name(schedule_id))
        return None
    run = fire_schedule(schedule)
    return run.pk if run else None
