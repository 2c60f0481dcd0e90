"""Celery tasks: thin wrappers over the engine (steps.py), plus the schedules' task (schedules.py)."""

import threading
import time

from celery import shared_task
from celery.signals import worker_ready
from django.db import close_old_connections, connections

# schedules and prune (metrics, issue 6): the tasks beat fires
from workflows import prune, schedules, steps  # noqa: F401
from workflows.heartbeat import ensure_maintenance_thread

# A connection used this recently by the previous step skips Django's health
# check (a SELECT 1 round trip before the first query, CONN_HEALTH_CHECKS):
# back-to-back steps would pay it on every step for nothing.
HEALTH_CHECK_AFTER_IDLE = 1.0
_this_thread = threading.local()


def fresh_connections() -> None:
    """What Django does per request, for a step: drop connections that broke or outlived CONN_MAX_AGE.

    Connections are reused across tasks (settings.CELERY_DB_REUSE_MAX).
    """
    close_old_connections()
    if time.monotonic() - getattr(_this_thread, "last_step_ended", float("-inf")) < HEALTH_CHECK_AFTER_IDLE:
        for conn in connections.all(initialized_only=True):
            conn.health_check_done = True


@shared_task(name="oaweb.execute_step", bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def execute_step(
    self, step_run_id: int, delay: float = 0.0, component: str = "", slot: bool = False, upstream: dict | None = None
) -> None:
    fresh_connections()
    try:
        _execute_step(self, step_run_id, delay, component, slot, upstream)
    finally:
        _this_thread.last_step_ended = time.monotonic()


def _execute_step(self, step_run_id: int, delay: float, component: str, slot: bool, upstream: dict | None) -> None:
    if component and not slot:
        wait = steps.rate_limit_wait(step_run_id, component)
        if wait > 0:
            # Come back at the reserved slot, on the queue and priority this came with.
            delivery = self.request.delivery_info or {}
            self.apply_async(
                args=[step_run_id],
                kwargs={"delay": delay, "component": component, "slot": True, "upstream": upstream},
                countdown=wait,
                queue=delivery.get("routing_key"),
                priority=delivery.get("priority"),
            )
            return
    steps.execute_step(step_run_id, task_id=self.request.id or "", delay=delay, upstream=upstream)


@worker_ready.connect
def start_worker_maintenance(sender=None, **kwargs) -> None:
    """Heartbeat and reaper from the moment a worker is up, not only once it runs a step:
    an idle worker must still notice that another one died."""
    from workflows.workers import identity

    try:  # the sender is the consumer: what this worker serves, for the workers page
        identity["queues"] = sorted(queue.name for queue in sender.task_consumer.queues)
        identity["concurrency"] = getattr(sender.pool, "limit", None)
        identity["pool"] = type(sender.pool).__module__.rsplit(".", 1)[-1]
    except AttributeError:  # a description is nice to have; the heartbeat is not optional
        pass
    ensure_maintenance_thread()
