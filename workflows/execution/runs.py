"""A run as a whole: start it, re-run it, cancel it, wait for it.

The engine has no central loop. Each step is one Celery message (tasks.py);
the worker that executes it (runner.py) records its outcome and readies its
children in one transaction (transitions/), carries on with one of them
itself when it can, and publishes the rest (dispatch.py). The reaper
(recovery.py) puts back what a dead worker or a lost message left behind.
"""

import logging
import time

from django.conf import settings
from django.db import close_old_connections, transaction

from oaweb.celery import app
from registry import lookup
from workflows.definitions.format import component_of
from workflows.definitions.spec import StepSpec
from workflows.definitions.validation import validate_inputs
from workflows.execution import dispatch, events, transitions, waits
from workflows.execution.heartbeat import running_steps
from workflows.execution.models import Run
from workflows.execution.plans import plan_of, step_queue  # noqa: F401  (plan_of: the pages' graphs)
from workflows.execution.state import get_store
from workflows.execution.status import RunStatus, StepStatus
from workflows.models import Workflow

log = logging.getLogger(__name__)


class RunRefused(Exception):
    """A run can't start: bad inputs, a disabled component, a final run to re-run."""

    def __init__(self, message: str, issues: list | None = None):
        super().__init__(message)
        self.issues = issues or []


class WorkflowArchived(RunRefused):
    """The workflow is archived: its runs stay readable, but it starts none (issue 18)."""


def check_not_archived(version) -> None:
    """WorkflowArchived when the version's workflow is archived.

    Every door (page, API, CLI, schedule, webhook) starts through start_run or
    rerun, which call this first. Read afresh: the caller's Workflow may be stale.
    """
    archived = Workflow.objects.filter(pk=version.workflow_id, archived_at__isnull=False)
    slug = archived.values_list("slug", flat=True).first()
    if slug is not None:
        raise WorkflowArchived(f"workflow {slug} is archived: unarchive it to start runs")


def start_run(target, inputs: dict | None = None, user=None, priority: int | None = None, trigger="manual") -> Run:
    """Check inputs, write the Run and its StepRuns in one transaction, publish the roots on commit.

    `target` is a Workflow (its latest version) or a WorkflowVersion; the
    run is pinned to that version. Raises RunRefused (nothing written) or
    StateUnavailable (Redis down: nothing written).
    """
    version = target.latest_version() if isinstance(target, Workflow) else target
    if version is None:
        raise RunRefused(f"workflow {target} has no version")
    check_not_archived(version)
    values, issues = validate_inputs(version.definition, inputs or {})
    if issues:
        raise RunRefused("; ".join(f"{issue['path'] or '/'}: {issue['message']}" for issue in issues), issues)
    return _create_run(version, values, user=user, priority=priority, trigger=trigger)


def rerun(run: Run, user=None) -> Run:
    """A new run of the same version and inputs that reuses the steps that succeeded."""
    if run.status not in (RunStatus.FAILED, RunStatus.CANCELLED):
        raise RunRefused(f"only a failed or cancelled run can be re-run; run {run.pk} is {run.status}")
    check_not_archived(run.version)
    # The definition's steps: a map that succeeded is reused whole, its items stay with their run.
    reused = {step.step_id: step for step in run.steps.filter(status=StepStatus.SUCCEEDED, map_step__isnull=True)}
    return _create_run(
        run.version, run.inputs, user=user, priority=run.priority, trigger="rerun", rerun_of=run, reused=reused
    )


def _create_run(version, inputs, user=None, priority=None, trigger="manual", rerun_of=None, reused=None) -> Run:
    reused = reused or {}
    steps = version.definition["steps"]
    first_step_calling = {}  # each component the run will call, once
    for step in steps:
        if step["id"] not in reused:
            first_step_calling.setdefault(component_of(step), step["id"])
    for component, step_id in first_step_calling.items():
        if lookup.usable(component) is None:
            raise RunRefused(f"step {step_id}: component {component} is unknown or disabled")
    # The broker must take the first messages: refuse before writing anything when Redis is down.
    get_store().ping()
    # A large run's steps are written after the answer, by a worker: the run is
    # `pending` meanwhile, and its start returns within a second whatever its size.
    defer = len(steps) > settings.OAWEB_START_INLINE_STEPS
    run, ready = transitions.create_run(
        version,
        inputs,
        lookup.components(),
        created_by=user if user is not None and user.is_authenticated else None,
        priority=5 if priority is None else priority,
        trigger=trigger,
        rerun_of=rerun_of,
        reused=reused,
        defer=defer,
    )
    if defer:
        first = StepSpec.parse(steps[0])
        queue = step_queue(first, lookup.usable(first.component))
        transaction.on_commit(lambda: dispatch.publish_step_creation(run.pk, queue))
    transaction.on_commit(lambda: dispatch.publish(ready))
    events.run_changed(run)
    return run


def cancel_run(run: Run) -> bool:
    """Cancel a run: pending steps never start, running ones are told to stop.

    Returns False when the run had already finished.
    """
    running = transitions.cancel(run.pk)
    if running is None:
        return False
    run.refresh_from_db(fields=["status", "finished", "error"])
    # Running components see context.stop through their worker's heartbeat
    # (at once if they run in this process: embedded mode); revoking keeps
    # any redelivery of their tasks from starting them again.
    running_steps.stop([step.pk for step in running])
    running_tasks = [step.task_id for step in running if step.task_id]
    if running_tasks and not settings.EMBEDDED:
        try:
            app.control.revoke(running_tasks)
        except Exception:  # the cancel is already recorded; revoke is best effort
            log.warning("revoking tasks of run %s failed", run.pk, exc_info=True)
    events.run_changed(run)
    events.steps_changed(run.pk)
    # Its sub-workflows' child runs go with it; a child cancelled on its own fails the step waiting for it.
    for child in Run.objects.filter(parent_step__run_id=run.pk, status__in=RunStatus.ACTIVE):
        cancel_run(child)
    waits.child_finished(run)
    return True


def wait_for_run(run: Run, timeout: float = 600.0, poll: float = 0.05) -> Run:
    """Block until the run is final (CLI --wait, tests); returns it refreshed."""
    deadline = time.monotonic() + timeout
    while True:
        run.refresh_from_db()
        if run.is_final or time.monotonic() > deadline:
            return run
        close_old_connections()
        time.sleep(poll)
