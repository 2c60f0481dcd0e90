"""Recovery: steps of dead workers, messages nobody holds, runs nothing moves.

Every worker's maintenance thread calls `reap` (heartbeat.py); a lock lets
one process do it at a time. The database is the truth; the reaper brings
the broker back in line with it:

* a running step whose lease ran out (its worker died) is queued again, or
  failed for good when it kept killing its workers;
* a queued step not claimed within the lease after it was due has lost its
  message (the broker lost it, the publisher died after its commit, a dead
  worker held it): it is sent again, unless its queue still has messages
  waiting, which it may be among (then it is looked at again later, and
  sent anyway once it has waited ten leases);
* an active run with no step queued or running is repaired from its steps'
  statuses (transitions.repair_run);
* a child run whose parent step no longer waits for it (a failed map cancelled
  that item) is cancelled.

A duplicate message is harmless: the claim is conditional.
"""

import logging
import time

from django.conf import settings
from django.utils import timezone

from registry import lookup
from workflows.definitions.retry import RetryPolicy
from workflows.execution import dispatch, failpoints, heartbeat, runs, transitions, waits
from workflows.execution.messages import Advance
from workflows.execution.models import Run
from workflows.execution.plans import compiled_of
from workflows.execution.state import get_store
from workflows.execution.status import RunStatus, StepStatus

log = logging.getLogger(__name__)

# A worker that died mid-step costs an attempt; past this many extra
# attempts a step that keeps killing its workers is failed for good.
LOST_ATTEMPTS_ALLOWED = 2
# A queued step whose queue is busy is sent again anyway after this many leases.
RESEND_ANYWAY_AFTER_LEASES = 10


_last_reap = {"at": float("-inf")}


def register_hooks() -> None:
    """The reaper runs on every worker's heartbeat (a lock lets one process at a time do it);
    a child run's end ends the step waiting for it."""
    heartbeat.on_every_beat("reaper", reap_if_due)
    dispatch.on_run_finished(waits.child_finished)


def reap_if_due() -> None:
    """The heartbeat's hook: a pass every OAWEB_REAPER_SECONDS."""
    if time.monotonic() - _last_reap["at"] >= settings.OAWEB_REAPER_SECONDS:
        _last_reap["at"] = time.monotonic()
        reap()


def reap() -> None:
    """One pass of the reaper, when this process holds the reaper's lock."""
    with get_store().lock("reaper", ttl=max(1, settings.OAWEB_REAPER_SECONDS)) as acquired:
        if not acquired:
            return
        now = timezone.now()
        for row in transitions.expired_leases(now):
            follow_up(take_back_lost_step(row, now))
        resend_unclaimed(now)
        for run_id in transitions.stalled_runs():
            advance = transitions.repair_run(run_id, lookup.components())
            if advance.recorded:
                log.warning("run %s: repaired from its steps' statuses", run_id)
            follow_up(advance)
        waits.end_due(now)
        cancel_orphans()


# Orphaned child runs cancelled per pass: more wait for the next.
ORPHANS_PER_PASS = 100


def cancel_orphans() -> int:
    """Cancel the active child runs whose parent step has ended (nothing will read them now); how many."""
    orphans = Run.objects.filter(status__in=RunStatus.ACTIVE, parent_step__status__in=StepStatus.FINAL)
    cancelled = 0
    for child in orphans.order_by("pk")[:ORPHANS_PER_PASS]:
        cancelled += runs.cancel_run(child)
    return cancelled


def take_back_lost_step(row, now) -> Advance:
    step = compiled_of(row.run).step(row.step_id)
    info = lookup.get(row.component)
    policy = RetryPolicy.from_config(step.retry, info.retry if info else None)
    give_up = row.attempt >= policy.max_attempts + LOST_ATTEMPTS_ALLOWED
    advance = transitions.take_back(row, now, give_up)
    if advance.recorded:
        log.warning("step %s of run %s: worker %s presumed dead", row.step_id, row.run_id, row.worker)
    return advance


def resend_unclaimed(now) -> None:
    depths: dict[str, int | None] = {}
    resend = []
    for row in transitions.unclaimed(now):
        if row.queue not in depths:
            depths[row.queue] = None if settings.EMBEDDED else dispatch.queue_depth(row.queue)
        depth = depths[row.queue]
        due = row.enqueued or now
        waited_long = (now - due).total_seconds() > RESEND_ANYWAY_AFTER_LEASES * settings.OAWEB_LEASE_SECONDS
        if depth and not waited_long:
            transitions.postpone_check(row, now)
            continue
        if transitions.mark_resent(row, now):
            resend.append(transitions.message_of(row))
    if resend:
        failpoints.hit("reaper.resending")
        log.warning("resending %d step(s) nobody held", len(resend))
        if not settings.EMBEDDED:
            try:
                dispatch.declare_queues({message.queue for message in resend})
            except Exception:  # the broker is still down: publish below fails and marks them again
                log.warning("declaring queues failed", exc_info=True)
        dispatch.publish(resend)


def follow_up(advance: Advance) -> None:
    """Events and messages for a transition the reaper made."""
    if advance.recorded:
        dispatch.after_commit(advance)
