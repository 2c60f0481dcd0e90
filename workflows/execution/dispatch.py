"""Putting steps on the broker, and what this worker may run itself without it.

Steps are `queued` in the database before their messages exist: a message
that is never sent (the broker down, the process killed after the commit)
is resent by the reaper (recovery.py), so publishing may fail without
losing anything; it never raises into the step path.
"""

import logging

from django.conf import settings

from oaweb.celery import app
from registry import lookup
from workflows.execution import embedded, events, failpoints, transitions
from workflows.execution.messages import Advance
from workflows.execution.plans import Compiled, step_queue
from workflows.execution.workers import identity

log = logging.getLogger(__name__)

STEP_TASK = "oaweb.execute_step"
CREATE_STEPS_TASK = "oaweb.create_steps"


def publish(messages) -> bool:
    """Send a message for each step, over one producer; False when the broker couldn't take them.

    Steps the broker refused are left queued and offered to the reaper at
    once (transitions.resend_soon): it sends them when the broker is back.
    """
    messages = list(messages)
    if not messages:
        return True
    if settings.EMBEDDED:
        embedded.ensure_embedded_worker()
    try:
        with app.producer_or_acquire() as producer, producer.batch():
            # One Redis pipeline for all of them (kombu's publish batch), not a
            # round trip each: the siblings a fan-out publishes land together.
            for message in messages:
                # By name: the task's module calls this one (tasks -> runner -> dispatch).
                app.send_task(
                    STEP_TASK,
                    args=[message.step_run_id],
                    kwargs=message.task_kwargs(),
                    # One worker serves every queue in embedded mode.
                    queue=settings.CELERY_TASK_DEFAULT_QUEUE if settings.EMBEDDED else message.queue,
                    # Redis priorities: 0 runs first; ours: 9 runs first.
                    priority=9 - message.priority,
                    countdown=message.countdown or None,
                    producer=producer,
                )
    except Exception:  # the broker is unreachable: the reaper sends them later (a duplicate is harmless)
        log.warning("publishing %d step(s) failed; the reaper will resend them", len(messages), exc_info=True)
        try:
            transitions.resend_soon(message.step_run_id for message in messages)
        except Exception:  # the database is down too: their deadline passes on its own
            log.warning("could not mark unsent steps for resending", exc_info=True)
        return False
    return True


def publish_step_creation(run_id: int, queue: str) -> None:
    """Ask a worker on `queue` to write a large run's steps (tasks.create_steps).

    A message the broker refuses is not lost: the reaper writes the steps of
    a run that still has none after a lease (transitions.stalled_runs).
    """
    if settings.EMBEDDED:
        embedded.ensure_embedded_worker()
    try:
        app.send_task(
            CREATE_STEPS_TASK, args=[run_id], queue=settings.CELERY_TASK_DEFAULT_QUEUE if settings.EMBEDDED else queue
        )
    except Exception:
        log.warning("run %s: asking for its steps failed; the reaper will write them", run_id, exc_info=True)


def after_commit(advance: Advance, from_step: bool = False) -> None:
    """The events and messages of a committed transition. `from_step`: on a step's path (its failpoints)."""
    for state in advance.changed:
        events.step_changed(state)
    if advance.skipped_below and advance.changed:
        events.steps_changed(advance.changed[0].run_id)
    if from_step:
        failpoints.hit("step.after_commit")
    publish(advance.ready)
    if from_step:
        failpoints.hit("step.published")
    if advance.started_run is not None:
        events.run_changed(advance.started_run)
    if advance.finished_run is not None:
        events.run_changed(advance.finished_run)
        run_finished(advance.finished_run)


# Called with each run a transition finished, after its commit (waits.py: a child run ends its parent step).
_run_finished_hooks: list = []


def on_run_finished(hook) -> None:
    if hook not in _run_finished_hooks:
        _run_finished_hooks.append(hook)


def run_finished(run) -> None:
    for hook in _run_finished_hooks:
        hook(run)


def continuable(version: Compiled, step_ids) -> tuple[str, ...]:
    """The children of these steps this process may run itself, in definition order, each once.

    A child qualifies when it routes to a queue this worker consumes and its
    component has no rate limit (the limit's slots are the broker's job).
    Processes that don't consume steps (the web server) continue nothing.
    """
    if not identity["queues"]:
        return ()
    components = lookup.components()
    eligible = {}  # a dict keeps the order and drops a join named by two of its parents
    for step_id in step_ids:
        for child in version.plan.children.get(step_id, ()):  # a map's item has none
            step = version.spec.steps[child]
            info = components.get(step.component)
            if _may_run_here(info, step_queue(step, info)):
                eligible[child] = True
    return tuple(eligible)


def may_continue(component: str, queue: str) -> bool:
    """Whether this process may run a step of this component on this queue itself (a map's items)."""
    return bool(identity["queues"]) and _may_run_here(lookup.components().get(component), queue)


def _may_run_here(info, queue: str) -> bool:
    if info is None or info.rate_limit:
        return False
    return settings.EMBEDDED or queue in identity["queues"]


def queue_depth(name: str) -> int | None:
    """Messages waiting in a broker queue (all priorities), or None when the broker can't say."""
    try:
        with app.connection_for_read() as connection:
            return connection.default_channel.queue_declare(queue=name, passive=True).message_count
    except Exception:
        return None


def declare_queues(names) -> None:
    """(Re)declare Celery's queues and their bindings on the broker.

    Whatever emptied Redis (a flush, a restart without persistence) took the
    bindings too: without them kombu silently drops what is published to
    those queues. The reaper declares them before it resends.
    """
    from kombu import Exchange, Queue

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for name in names:
            # The same queue Celery declares for a queue name it wasn't told about.
            Queue(name, Exchange(name), routing_key=name)(channel).declare()
