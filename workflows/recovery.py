"""Recovery: lost workers, lost broker messages, lost hot state.

The database is the truth; these functions bring Redis and the broker back
in line with it. Every worker runs `reap` periodically (workflows/heartbeat.py).
"""

import logging
import time

from django.conf import settings
from django.utils import timezone

from registry import lookup
from workflows.engine import (
    REQUEUE_AFTER,
    enqueue_ready,
    joins_of,
    maybe_finish_run,
    plan_of,
    send_steps,
    skip_descendants,
)
from workflows.models import (
    ATTEMPT_LOST,
    RUN_PENDING,
    RUN_RUNNING,
    STEP_FAILED,
    STEP_FINAL,
    STEP_PENDING,
    STEP_QUEUED,
    STEP_RETRYING,
    STEP_RUNNING,
    STEP_SUCCEEDED,
    Run,
    StepAttempt,
    StepRun,
)
from workflows.retry import RetryPolicy
from workflows.state import get_store

log = logging.getLogger(__name__)

# A worker that died mid-step costs an attempt; past this many extra
# attempts a step that keeps killing its workers is failed for good.
LOST_ATTEMPTS_ALLOWED = 2


def rebuild_run_state(run_id: int) -> None:
    """Recreate a run's counters from its StepRun rows, then resend what waits.

    Used when Redis lost the run's keys (FLUSHALL, restart, failover): the
    queued steps' broker messages may be gone too, so they are sent again.
    """
    store = get_store()
    with store.lock(f"rebuild:{run_id}", ttl=30) as acquired:
        if not acquired:
            time.sleep(0.05)  # another process is rebuilding; its result will be there
            return
        if store.has_run(run_id):
            return
        run = Run.objects.select_related("version").get(pk=run_id)
        if run.is_final:
            return
        plan = plan_of(run)
        rows = list(run.steps.all())
        status = {row.step_id: row.status for row in rows}
        done = {step_id for step_id, state in status.items() if state in STEP_FINAL}
        waiting = {step_id: sum(1 for p in plan.parents[step_id] if p not in done) for step_id in joins_of(plan)}
        store.init_run(run_id, waiting, done=done)
        log.warning("run %s: hot state rebuilt from the database", run_id)
    if not settings.EMBEDDED:
        # Whatever emptied Redis took the broker's queue bindings too: without
        # them kombu silently drops what is published to those queues.
        declare_queues({row.queue for row in rows})
    ready = [
        step_id
        for step_id, state in status.items()
        if state == STEP_PENDING and all(status[p] == STEP_SUCCEEDED for p in plan.parents[step_id])
    ]
    enqueue_ready(run_id, ready)
    send_steps([row for row in rows if row.status in (STEP_QUEUED, STEP_RETRYING)])


def reap() -> None:
    """Put back steps whose worker died, resend lost messages, rebuild lost state.

    Every worker runs this periodically; a lock lets one do it at a time.
    """
    store = get_store()
    with store.lock("reaper", ttl=max(1, settings.OAWEB_REAPER_SECONDS)) as acquired:
        if not acquired:
            return
        now = timezone.now()
        expired = StepRun.objects.filter(status=STEP_RUNNING, lease_expires__lt=now)
        for row in expired.select_related("run", "run__version"):
            requeue_lost_step(row, now)
        for row in StepRun.objects.filter(status__in=[STEP_QUEUED, STEP_RETRYING], lease_expires__lt=now):
            if StepRun.objects.filter(pk=row.pk, status=row.status, lease_expires=row.lease_expires).update(
                lease_expires=now + REQUEUE_AFTER
            ):
                send_steps([row])
        for run_id in Run.objects.filter(status__in=[RUN_PENDING, RUN_RUNNING]).values_list("pk", flat=True):
            if not store.has_run(run_id):
                rebuild_run_state(run_id)


def requeue_lost_step(row: StepRun, now) -> None:
    plan = plan_of(row.run)
    step = plan.steps[row.step_id]
    info = lookup.get(row.component)
    policy = RetryPolicy.from_config(step.get("retry"), info.retry if info else None)
    lost = f"worker {row.worker} stopped renewing its lease (presumed dead)"
    held = StepRun.objects.filter(pk=row.pk, status=STEP_RUNNING, attempt=row.attempt, lease_expires__lt=now)
    if row.attempt >= policy.max_attempts + LOST_ATTEMPTS_ALLOWED:
        if held.update(status=STEP_FAILED, error=lost, finished=now, lease_expires=None):
            record_lost_attempt(row, now, lost)
            skip_descendants(row.run, plan, row.step_id)
            maybe_finish_run(row.run_id)
        return
    if held.update(status=STEP_QUEUED, error=lost, enqueued=now, lease_expires=now + REQUEUE_AFTER):
        record_lost_attempt(row, now, lost)
        log.warning("step %s of run %s: %s; sent again", row.step_id, row.run_id, lost)
        send_steps([row])


def record_lost_attempt(row: StepRun, now, error: str) -> None:
    """The attempt's row, written by the reaper that took the step from its dead worker."""
    StepAttempt.objects.bulk_create([row.ended_attempt(ATTEMPT_LOST, now, error)], ignore_conflicts=True)


def declare_queues(names) -> None:
    """(Re)declare Celery's queues and their bindings on the broker."""
    from kombu import Exchange, Queue

    from oaweb.celery import app

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for name in names:
            # The same queue Celery declares for a queue name it wasn't told about.
            Queue(name, Exchange(name), routing_key=name)(channel).declare()
