"""sync() keeps one beat entry per schedule: created, updated, disabled; delete() removes it."""

import json

import pytest
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from tests.triggers.helpers import make_schedule
from workflows.triggers.beat import TASK_NAME, periodic_task_name
from workflows.triggers.schedules import start_scheduled_run


def beat_entry(schedule):
    return PeriodicTask.objects.select_related("crontab").get(name=periodic_task_name(schedule.pk))


def test_sync_creates_a_periodic_task_for_the_schedule(make_workflow):
    schedule = make_schedule(make_workflow(), cron="*/5 9-17 * * 1-5", timezone="Europe/Paris")

    task = beat_entry(schedule)
    assert task.task == TASK_NAME
    assert json.loads(task.args) == [schedule.pk]
    assert task.enabled
    crontab = task.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_month, crontab.month_of_year, crontab.day_of_week) == (
        "*/5",
        "9-17",
        "*",
        "*",
        "1-5",
    )
    assert str(crontab.timezone) == "Europe/Paris"
    schedule.refresh_from_db()
    assert schedule.periodic_task_id == task.pk


def test_sync_updates_the_same_task_when_the_schedule_changes(make_workflow):
    schedule = make_schedule(make_workflow(), cron="0 3 * * *")
    first = beat_entry(schedule)

    schedule.cron = "15 4 * * 0"
    schedule.timezone = "Asia/Tokyo"
    schedule.save()
    schedule.sync()

    task = beat_entry(schedule)
    assert task.pk == first.pk
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("15", "4", "0")
    assert str(task.crontab.timezone) == "Asia/Tokyo"
    assert PeriodicTask.objects.count() == 1
    assert CrontabSchedule.objects.count() == 1


def test_disabling_the_schedule_disables_its_task(make_workflow):
    schedule = make_schedule(make_workflow())
    schedule.enabled = False
    schedule.save()
    schedule.sync()
    assert not beat_entry(schedule).enabled

    schedule.enabled = True
    schedule.save()
    schedule.sync()
    assert beat_entry(schedule).enabled


def test_deleting_the_schedule_removes_its_task_and_crontab(make_workflow):
    schedule = make_schedule(make_workflow())
    schedule.delete()
    assert not PeriodicTask.objects.exists()
    assert not CrontabSchedule.objects.exists()


def test_saving_without_sync_writes_no_beat_entry(make_workflow):
    make_schedule(make_workflow(), sync=False)
    assert not PeriodicTask.objects.exists()


@pytest.mark.django_db(transaction=True)  # the task closes connections, as tasks do
def test_the_task_of_a_vanished_schedule_removes_its_orphaned_entry(make_workflow):
    workflow = make_workflow()
    schedule = make_schedule(workflow)
    workflow.delete()  # the cascade skips Schedule.delete(): the beat entry is left behind
    assert PeriodicTask.objects.exists()

    assert start_scheduled_run(schedule.pk) is None
    assert not PeriodicTask.objects.exists()
