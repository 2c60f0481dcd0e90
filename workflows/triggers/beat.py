"""Schedules as django-celery-beat entries.

Each Schedule owns one PeriodicTask (named `oaweb-schedule-<id>`) and that
task's own CrontabSchedule; `sync_schedule` writes both from the Schedule,
`remove_periodic_task` deletes them. Beat's DatabaseScheduler notices the
change through PeriodicTask.save()/delete(), which bump its change marker.
"""

import json

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from workflows.triggers.cron import split_cron

# The task beat calls (workflows/triggers/schedules.py defines it).
TASK_NAME = "oaweb.start_scheduled_run"


def periodic_task_name(schedule_id: int) -> str:
    return f"oaweb-schedule-{schedule_id}"


def sync_schedule(schedule) -> PeriodicTask:
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
        type(schedule).objects.filter(pk=schedule.pk).update(periodic_task=task)
        schedule.periodic_task = task
    return task


def remove_periodic_task(schedule) -> None:
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
