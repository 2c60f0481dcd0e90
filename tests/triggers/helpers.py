"""Small factories for the trigger tests."""

from workflows.triggers.models import Schedule


def make_schedule(workflow, user=None, sync=True, **fields):
    values = {"name": "nightly", "cron": "0 3 * * *", "timezone": "UTC", "inputs": {}, **fields}
    schedule = Schedule.objects.create(workflow=workflow, created_by=user, **values)
    if sync:
        schedule.sync()
    return schedule
