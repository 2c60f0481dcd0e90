"""Small builders for the alerts tests: runs in a given state, a channel and a rule."""

from datetime import timedelta

from django.utils import timezone

from workflows.alerts import actions
from workflows.execution.models import Run, StepRun


def run_of(workflow, status="failed", seconds=1.0, finished_ago=0.0, error="step failed: x"):
    """A run that finished `finished_ago` seconds ago after `seconds` (status running: started, not finished)."""
    now = timezone.now()
    finished = now - timedelta(seconds=finished_ago)
    started = finished - timedelta(seconds=seconds)
    final = status not in ("running", "pending")
    return Run.objects.create(
        workflow=workflow,
        version=workflow.latest_version(),
        status=status,
        started=started,
        finished=finished if final else None,
        error=error if status == "failed" else "",
    )


def queued_step(run, waited: float, queue="default"):
    return StepRun.objects.create(
        run=run, step_id="s1", component="core.noop", status="queued", queue=queue,
        enqueued=timezone.now() - timedelta(seconds=waited),
    )  # fmt: skip


def webhook(team, url="https://hooks.example.com/oaweb", name="hook"):
    return actions.create_channel(team, name=name, kind="webhook", url=url)


def rule(team, channel, kind="run_failed", name=None, **fields):
    made = actions.create_rule(team, name=name or kind, kind=kind, channel=channel, **fields)
    # As if made a minute ago: the runs of the tests finish after it.
    made.__class__.objects.filter(pk=made.pk).update(checked_until=timezone.now() - timedelta(seconds=60))
    made.refresh_from_db()
    return made
