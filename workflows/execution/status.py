"""Statuses of runs, steps and attempts, and the step transitions the engine may make.

States are data: the choices live here, their final sets on the classes, and
the allowed step transitions in one table that the module writing statuses
(transitions/) checks before it builds a statement.

A step: pending (waiting for parents) -> queued (a message is on its way, or
it waits for its backoff) -> running -> succeeded | failed | retrying (->
queued again). A step is skipped when its `when` is false or an ancestor
failed or was skipped, and cancelled with its run. A step created at run
time (a map's items) starts pending or queued like any other. A step that
waits for a child run, a person, an event or a time is `waiting`: its worker
claimed it, resolved its inputs and let it go; running holds a worker,
waiting holds only a row. What it waits for ends it (waits.py): succeeded,
failed, or retrying (a sub-workflow's retry starts a new child).
"""

from django.db import models


class RunStatus(models.TextChoices):
    PENDING = "pending"  # until its first step starts
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


RunStatus.ACTIVE = frozenset({RunStatus.PENDING, RunStatus.RUNNING})
RunStatus.FINAL = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})


class StepStatus(models.TextChoices):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


StepStatus.FINAL = frozenset({StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED})
StepStatus.ACTIVE = frozenset(
    {StepStatus.PENDING, StepStatus.QUEUED, StepStatus.RETRYING, StepStatus.RUNNING, StepStatus.WAITING}
)
# Held by this attempt, whether a worker runs it or it waits: what its outcome may end.
StepStatus.HELD = frozenset({StepStatus.RUNNING, StepStatus.WAITING})
# Waiting for a message to be taken: what the reaper resends when nobody holds it.
StepStatus.WAITING_FOR_WORKER = frozenset({StepStatus.QUEUED, StepStatus.RETRYING})


class AttemptStatus(models.TextChoices):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    LOST = "lost"  # its worker died; the step was put back by the reaper
    CANCELLED = "cancelled"


S = StepStatus
# (from, to) -> who makes that change. transitions/ refuses any other.
STEP_TRANSITIONS = {
    (S.PENDING, S.QUEUED): "its last parent succeeded (or the reaper's sweep found it ready)",
    (S.PENDING, S.RUNNING): "its last parent succeeded and that worker continues with it",
    (S.PENDING, S.SKIPPED): "an ancestor failed or was skipped",
    (S.QUEUED, S.RUNNING): "a worker claimed its message",
    (S.RETRYING, S.RUNNING): "a worker claimed its message after the backoff",
    (S.RUNNING, S.SUCCEEDED): "its component returned outputs",
    (S.RUNNING, S.SKIPPED): "its `when` was false",
    (S.RUNNING, S.RETRYING): "its attempt failed and its retry policy allows another",
    (S.RUNNING, S.FAILED): "its last attempt failed",
    (S.RUNNING, S.QUEUED): "the reaper took it from a worker that stopped renewing its lease",
    (S.RUNNING, S.WAITING): "it waits for a child run, a person, an event or a time, holding no worker",
    (S.WAITING, S.SUCCEEDED): "what it waited for came: approved, the event, the time, its child run's success",
    (S.WAITING, S.RETRYING): "its child run failed and its retry policy allows another",
    (S.WAITING, S.FAILED): "rejected, timed out, or its child run failed for good",
    **{(status, S.CANCELLED): "its run was cancelled" for status in StepStatus.ACTIVE},
}


class TransitionRefused(Exception):
    """A status change that STEP_TRANSITIONS doesn't allow: a bug in the engine, never a user error."""


def check_step_transition(sources, target) -> None:
    for source in sources:
        if (source, target) not in STEP_TRANSITIONS:
            raise TransitionRefused(f"a step can't go from {source} to {target}")
