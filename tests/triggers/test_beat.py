"""A schedule fires a run through a real Celery beat and a real worker (distributed mode)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from tests.triggers.helpers import make_schedule
from workflows.execution.models import Run
from workflows.execution.runs import wait_for_run
from workflows.triggers.beat import periodic_task_name

pytestmark = [pytest.mark.distributed, pytest.mark.slow]

# "* * * * *" fires at the next minute boundary: up to 60 s, plus beat's start and its 5 s loop
# (the test makes the last firing two minutes old, so beat finds one due at once).
FIRST_FIRING_TIMEOUT = 75


def wait_for_scheduled_run(workflow, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = Run.objects.filter(workflow=workflow, trigger="schedule").first()
        if run:
            return run
        time.sleep(0.5)
    return None


def test_a_every_minute_schedule_fires_a_run_through_beat_and_a_worker(workers, worker_processes, make_workflow, owner):
    workflow = make_workflow()
    schedule = make_schedule(workflow, owner, name="every minute", cron="* * * * *", inputs={"greeting": "tick"})
    # As if beat had last fired it two minutes ago: the missed minute is due now, so the
    # test needn't wait for the next boundary. Which schedule is due is still beat's decision.
    missed = timezone.now() - timedelta(minutes=2)
    PeriodicTask.objects.filter(name=periodic_task_name(schedule.pk)).update(last_run_at=missed)
    # Beat only: its own queue has no steps; the scheduled task goes to `default`,
    # which the session's general worker consumes.
    beat = worker_processes.start("beat", queues="beat-only", concurrency=1, beat=True)
    try:
        run = wait_for_scheduled_run(workflow, FIRST_FIRING_TIMEOUT)
        assert run is not None, "no scheduled run:\n" + "\n".join(beat.output)
        run = wait_for_run(run, timeout=60)
    finally:
        worker_processes.stop("beat")

    assert run.status == "succeeded", run.error
    assert run.inputs == {"greeting": "tick"}
    assert run.outputs == {"value": "tick"}
    schedule.refresh_from_db()
    assert schedule.last_run_id == run.pk
