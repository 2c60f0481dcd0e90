"""Ending waiting steps: the time came, the event was posted, a person decided, or the deadline passed.

A waiting step (core.wait, core.wait_for_event, core.approval) holds no
worker and no thread: its row says what it waits for (`wait`) and until
when (`wait_until`). Whoever ends it (the API or a page in the web
process, the reaper's pass in a worker for deadlines) records its outcome
through the same transitions as a step a worker ran: its success readies
its children in one transaction, its failure skips what follows. Ending is
conditional on the attempt still holding the step, so two people approving
at once, or an approval racing its deadline, end it once.

Deadlines are found by the reaper's pass (recovery.py), so a wait ends
within OAWEB_REAPER_SECONDS of its time.

An event posted while no step waits for it is kept (PostedEvent) for the
first step that will: the step takes it in the transaction of its wait
(transitions.wait) and ends at once. Posting takes the run row's lock, and
so does that wait: either the post sees the step waiting, or the wait sees
the event kept.
"""

import logging
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import BigIntegerField, F
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from workflows.execution import dispatch, runner, transitions
from workflows.execution.connections import retrying
from workflows.execution.models import PostedEvent, Run, StepRun
from workflows.execution.plans import compiled
from workflows.execution.status import RunStatus, StepStatus
from workflows.execution.wait_specs import APPROVAL, EVENT, RUN, TIME

log = logging.getLogger(__name__)

# Deadlines ended per reaper pass: a backlog drains over a few passes.
DUE_PER_PASS = 500


def succeed(step_run_id: int, outputs: dict) -> bool:
    """End the waiting step with these outputs (its children become ready); False when it no longer waits."""
    return _end(
        step_run_id, lambda claimed, version, inputs: retrying(transitions.succeed, claimed, version, inputs, outputs)
    )


def _end(step_run_id: int, ending) -> bool:
    """Take up the waiting step as its attempt holds it and end it with `ending(claimed, version, inputs)`.

    False when it no longer waits, or the ending was not recorded (another ended it first).
    """
    held = retrying(transitions.waiting_step, step_run_id)
    if held is None:
        return False
    claimed, inputs = held
    advance = ending(claimed, compiled(claimed.version_id, claimed.version_hash), inputs)
    _after_commit(advance)
    return advance.recorded


def _after_commit(advance) -> None:
    """The advance's events and messages once the transaction commits (at once outside one)."""
    transaction.on_commit(partial(dispatch.after_commit, advance))


def fail(step_run_id: int, error: str) -> bool:
    """End the waiting step as failed for good (what follows is skipped); False when it no longer waits."""
    return _end(
        step_run_id, lambda claimed, version, inputs: retrying(transitions.fail, claimed, version.plan, inputs, error)
    )


def decide(step: StepRun, approved: bool, by: str, comment: str = "") -> bool:
    """A person's (or the timeout's) decision on a waiting core.approval step; False when it no longer waits."""
    wait = step.wait or {}
    if step.status != StepStatus.WAITING or wait.get("kind") != APPROVAL:
        return False
    outputs = {"approved": approved, "by": by, "comment": comment, "decided_at": timezone.now().isoformat()}
    if approved or wait.get("on_reject") == "continue":
        return succeed(step.pk, outputs)
    who = by or "the timeout"
    return fail(step.pk, f"rejected by {who}" + (f": {comment}" if comment else ""))


def post_event(run_id: int, name: str, payload) -> tuple[int, bool]:
    """Post an event to a run: (how many waiting steps it ended, whether it was kept for a later step).

    (0, False): the run has ended, or it holds OAWEB_MAX_POSTED_EVENTS events nobody took yet.
    """
    with transaction.atomic():
        status = Run.objects.select_for_update().filter(pk=run_id).values_list("status", flat=True).first()
        if status is None or status in RunStatus.FINAL:
            return 0, False
        ended = deliver_event(run_id, name, payload)
        if ended:
            return ended, False
        kept = PostedEvent.objects.filter(run_id=run_id, taken_by__isnull=True)
        if kept.count() >= settings.OAWEB_MAX_POSTED_EVENTS:
            return 0, False
        PostedEvent.objects.create(run_id=run_id, name=name, payload=payload)
        return 0, True


def deliver_event(run_id: int, name: str, payload) -> int:
    """The event reaches every step of the run waiting for it; how many it ended."""
    waiting = StepRun.objects.filter(run_id=run_id, status=StepStatus.WAITING, wait__kind=EVENT, wait__event=name)
    ended = 0
    for step_run_id in waiting.values_list("pk", flat=True):
        ended += succeed(step_run_id, {"event": name, "payload": payload})
    return ended


def child_finished(run) -> bool:
    """A child run ended: its parent step (if it still waits for this child) ends with it."""
    if not run.parent_step_id:
        return False
    if not StepRun.objects.filter(pk=run.parent_step_id, status=StepStatus.WAITING, wait__run=run.pk).exists():
        return False  # ended already (cancelled, decided twice), or waiting for a newer child
    if run.status == RunStatus.SUCCEEDED:
        return succeed(run.parent_step_id, run.outputs or {})
    if run.status == RunStatus.CANCELLED:
        return fail(run.parent_step_id, f"child run {run.pk} was cancelled")
    return fail_or_retry(run.parent_step_id, f"child run {run.pk} failed: {run.error}")


def fail_or_retry(step_run_id: int, error: str) -> bool:
    """End the waiting step as an attempt that failed: its retry policy decides (a retry waits anew)."""

    def failed(claimed, version, inputs):
        step = version.step(claimed.step_id)
        return runner.record_failure(claimed, version, step, runner.StepFailure(error, inputs=inputs))

    return _end(step_run_id, failed)


def end_children_lost(limit: int = DUE_PER_PASS) -> int:
    """Child runs that ended while their parent step still waits (a crash after the child's commit)."""
    # Only the child its parent step waits for now: the children of its earlier attempts ended long ago.
    awaited = Cast(KeyTextTransform("run", "parent_step__wait"), BigIntegerField())
    ended = Run.objects.annotate(awaited=awaited).filter(
        status__in=RunStatus.FINAL, parent_step__status=StepStatus.WAITING, parent_step__wait__kind=RUN, awaited=F("pk")
    )
    return sum(child_finished(run) for run in ended.order_by("-finished")[:limit])


def end_due(now: datetime | None = None) -> int:
    """End the waits whose time came (the reaper's pass), and those of child runs that ended; how many."""
    now = now or timezone.now()
    due = StepRun.objects.filter(status=StepStatus.WAITING, wait_until__lte=now).order_by("wait_until")
    ended = 0
    for step in due.only("pk", "status", "wait", "wait_until")[:DUE_PER_PASS]:
        try:
            ended += _end_at_deadline(step)
        except Exception:  # one bad row must not stop the pass (the reaper's other work follows)
            log.exception("ending the wait of step run %s failed", step.pk)
    return ended + end_children_lost() + end_events_taken()


def end_events_taken() -> int:
    """Steps that took a kept event in their wait but did not end with it (a crash after that commit)."""
    taken = StepRun.objects.filter(status=StepStatus.WAITING, wait__kind=EVENT, wait__has_key="posted")
    ended = 0
    for step in taken.only("pk", "wait")[:DUE_PER_PASS]:
        posted = PostedEvent.objects.filter(pk=step.wait["posted"]).first()
        if posted is not None:
            ended += succeed(step.pk, transitions.event_outputs(posted))
    return ended


def _end_at_deadline(step: StepRun) -> bool:
    wait = step.wait or {}
    kind = wait.get("kind")
    if kind == TIME:
        return succeed(step.pk, {"waited_until": step.wait_until.isoformat()})
    if kind == EVENT:
        return fail(step.pk, f"timed out: no event {wait.get('event')!r} came by {step.wait_until.isoformat()}")
    if kind == APPROVAL:
        return decide(step, approved=wait.get("on_timeout") == "approve", by="", comment="timed out")
    return fail(step.pk, f"timed out waiting for an unknown kind of wait: {kind!r}")


# --- signed links: an approval decided by whoever holds the link ---------------

LINK_SALT = "oaweb.approval-link"


def approval_token(step: StepRun) -> str:
    """A token naming this waiting approval and its attempt (a link for an earlier attempt decides nothing)."""
    return signing.dumps({"step": step.pk, "attempt": step.attempt}, salt=LINK_SALT, compress=True)


def step_of_token(token: str) -> StepRun | None:
    """The waiting approval a link's token names, or None: forged, expired, or decided already.

    A link lasts until the wait's deadline, or OAWEB_APPROVAL_LINK_DAYS without one.
    """
    try:
        signed = signing.loads(token, salt=LINK_SALT, max_age=timedelta(days=settings.OAWEB_APPROVAL_LINK_DAYS))
    except signing.BadSignature:
        return None
    step = StepRun.objects.select_related("run__workflow").filter(pk=signed.get("step")).first()
    if step is None or step.attempt != signed.get("attempt") or step.status != StepStatus.WAITING:
        return None
    if (step.wait or {}).get("kind") != APPROVAL:
        return None
    return step
