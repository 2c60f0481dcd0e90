"""The step task: a thin wrapper over the runner, and the worker's start-up hook."""

from celery import shared_task
from celery.signals import worker_ready

from registry import lookup
from workflows.execution import attempts, dispatch, events, runner, transitions
from workflows.execution.connections import fresh_connections, step_ended
from workflows.execution.heartbeat import ensure_maintenance_thread, running_steps
from workflows.execution.messages import StepMessage
from workflows.execution.workers import identity

# A delivery waits at most this long for a slot that siblings run here hold;
# then it runs anyway (a slot held longer is a long step, not a short burst).
SLOT_WAIT_SECONDS = 5.0


@shared_task(name=dispatch.STEP_TASK, bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def execute_step(
    self,
    step_run_id: int,
    delay: float = 0.0,
    component: str = "",
    slot: bool = False,
    upstream: dict | None = None,
) -> None:
    delivery = self.request.delivery_info or {}
    message = StepMessage(
        step_run_id=step_run_id,
        component=component,
        queue=delivery.get("routing_key") or "default",
        # Celery's priority back to ours (9 runs first); it was 9 - ours when sent.
        priority=9 - delivery["priority"] if delivery.get("priority") is not None else 5,
        delay=delay,
        upstream=upstream,
        slot=slot,
    )
    fresh_connections()
    try:
        if component and not slot:
            wait = attempts.rate_limit_wait(message)
            if wait > 0:  # come back at the reserved slot, on the queue and priority this came with
                dispatch.publish([message.for_slot(wait)])
                return
        if identity.get("pool") in runner.THREAD_POOLS:
            running_steps.wait_for_slot(identity.get("concurrency") or 1, timeout=SLOT_WAIT_SECONDS)
        runner.execute(message, task_id=self.request.id or "")
    finally:
        step_ended()


@shared_task(name=dispatch.CREATE_STEPS_TASK, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def create_steps(run_id: int) -> None:
    """Write the steps of a run started with more than OAWEB_START_INLINE_STEPS, and send the ready ones."""
    fresh_connections()
    ready = transitions.create_deferred_steps(run_id, lookup.components())
    if ready:
        events.steps_changed(run_id)
    dispatch.publish(ready)


@worker_ready.connect
def start_worker_maintenance(sender=None, **kwargs) -> None:
    """Heartbeat and reaper from the moment a worker is up, not only once it runs a step:
    an idle worker must still notice that another one died."""
    try:  # the sender is the consumer: what this worker serves, for the workers page and continuation
        identity["queues"] = sorted(queue.name for queue in sender.task_consumer.queues)
        identity["concurrency"] = getattr(sender.pool, "limit", None)
        identity["pool"] = type(sender.pool).__module__.rsplit(".", 1)[-1]
    except AttributeError:  # a description is nice to have; the heartbeat is not optional
        pass
    ensure_maintenance_thread()
