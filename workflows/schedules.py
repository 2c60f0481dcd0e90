"""Schedules as django-celery-beat entries, and the task beat fires.

Each Schedule owns one PeriodicTask (named `oaweb-schedule-<id>`) and that
task's own CrontabSchedule; `sync_schedule` writes both from the Schedule,
`remove_periodic_task` deletes them. Beat's DatabaseScheduler notices the
change through PeriodicTask.save()/delete(), which bump its change marker.
"""

import json
import logging

from celery import shared_task
from django.db import close_old_connections, transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from workflows.execution import runs as engine
from workflows.execution.state import StateUnavailable
from workflows.triggers import Schedule, split_cron

log = logging.getLogger(__name__)

TASK_NAME = "oaweb.start_scheduled_run"


def periodic_task_name(schedule_id: int) -> str:
    return f"oaweb-schedule-{schedule_id}"


def sync_schedule(schedule: Schedule) -> PeriodicTask:
    """Make the schedule's PeriodicTask match it: created, updated, enabled or disabled."""
    fields = {**split_cron(schedule.cron), "timezone": schedule.timezone}
    with transaction.atomic():
        task = PeriodicTask.objects.select_related("crontab").filter(name=periodic_task_name(schedule.pk)).first()
        if task is None:
            task = PeriodicTask(name=periodic_task_name(schedule.pk), task=TASK_NAME)
        if task.crontab is None:
            task.crontab = CrontabSchedule.objects.create(**fields)
        else:
            for name, value in fields.items():
                setattr(task.crontab, name, value)
            task.crontab.save()
        task.args = json.dumps([schedule.pk])
        task.kwargs = "{}"
        task.enabled = schedule.enabled
        task.description = f"{schedule.name} of workflow {schedule.workflow.slug}"
        task.save()
        # An UPDATE, not save(): linking the beat entry must not re-validate the schedule.
        Schedule.objects.filter(pk=schedule.pk).update(periodic_task=task)
        schedule.periodic_task = task
    return task


def remove_periodic_task(schedule: Schedule) -> None:
    """Delete the schedule's beat entry and its crontab (nothing else uses that crontab)."""
    if schedule.pk is None:
        return
    remove_periodic_task_named(periodic_task_name(schedule.pk))
    schedule.periodic_task = None


def remove_periodic_task_named(name: str) -> None:
    with transaction.atomic():
        for task in PeriodicTask.objects.select_related("crontab").filter(name=name):
            crontab = task.crontab
            task.delete()
            if crontab is not None and not crontab.periodictask_set.exists():
                crontab.delete()


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
