"""Runs with known timestamps, added to the rollups as the engine would add them."""

from datetime import timedelta

from django.utils import timezone

from workflows.execution.models import Run, StepRun
from workflows.metrics import rollups


def recently():
    """Well inside the last hour, and never in the current minute (still being filled)."""
    return timezone.now() - timedelta(minutes=5)


def finished_run(workflow, seconds: float, status="succeeded", finished=None, steps=(), wait: float = 0.0):
    """A final run that took `seconds` end to end, with `steps`: (component, status, execution s, queue wait s).

    Added to the rollups by the engine's own function, as when a run finishes.
    """
    finished = finished or recently()
    version = workflow.latest_version()
    created = finished - timedelta(seconds=seconds)
    run = Run.objects.create(workflow=workflow, version=version, status=status)
    Run.objects.filter(pk=run.pk).update(created=created, started=created + timedelta(seconds=wait), finished=finished)
    rows = []
    for index, (component, step_status, execution, queue_wait) in enumerate(steps):
        ran = step_status in ("succeeded", "failed")
        started = finished - timedelta(seconds=execution) if ran else None
        rows.append(
            StepRun(
                run=run,
                step_id=f"s{index}",
                component=component,
                status=step_status,
                attempt=1 if ran else 0,
                inputs={"value": "x" * 10} if ran else None,
                outputs={"value": "y" * 20} if step_status == "succeeded" else None,
                enqueued=started - timedelta(seconds=queue_wait) if ran else None,
                started=started,
                finished=finished,
            )
        )
    StepRun.objects.bulk_create(rows)
    rollups.run_finished(run.pk)
    rollups.add_pending()
    return run
