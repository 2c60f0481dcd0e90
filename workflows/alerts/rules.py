"""What each kind of rule matches, and the alert it makes: plain functions of rows already read.

An Alert is what evaluation.py turns into a delivery: its `key` says what it
is about (one alert per rule and run, or per rule and incident) and its
`payload` is the documented JSON body (docs/alerts.md), the same for every
channel (Slack and e-mail send its `message`).
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.urls import reverse

from workflows.alerts.models import RuleKind
from workflows.execution.status import RunStatus

EVENTS = {
    RuleKind.RUN_FAILED: "run.failed",
    RuleKind.RUN_RECOVERED: "run.recovered",
    RuleKind.RUN_LONG: "run.long",
    RuleKind.STEP_QUEUED_LONG: "step.queued_long",
    RuleKind.NO_WORKER: "queue.no_worker",
}
PAYLOAD_VERSION = 1
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Alert:
    rule: object  # AlertRule
    key: str
    event: str
    run_id: int | None
    payload: dict


def in_scope(rule, run) -> bool:
    """Whether a run is one the rule watches: its team's, and its workflow's when it names one."""
    return rule.team_id == run.workflow.team_id and (rule.workflow_id is None or rule.workflow_id == run.workflow_id)


def run_seconds(run, now: datetime) -> float:
    """How long a run has run: from its start (or creation, while pending) to its finish (or now)."""
    return ((run.finished or now) - (run.started or run.created)).total_seconds()


def matches_finished(rule, run, previous_failed: bool) -> bool:
    """Whether a finished run fires a rule of a run kind (previous_failed: the workflow's run before it failed)."""
    if rule.kind == RuleKind.RUN_FAILED:
        return run.status == RunStatus.FAILED
    if rule.kind == RuleKind.RUN_RECOVERED:
        return run.status == RunStatus.SUCCEEDED and previous_failed
    if rule.kind == RuleKind.RUN_LONG:
        return rule.threshold_seconds is not None and run_seconds(run, run.finished) > rule.threshold_seconds
    return False


def run_alert(rule, run, now: datetime) -> Alert:
    event = EVENTS[rule.kind]
    workflow = run.workflow
    if rule.kind == RuleKind.RUN_FAILED:
        message = f"Run {run.pk} of {workflow.slug} failed"
        if run.error:
            message += f": {run.error[:300]}"
    elif rule.kind == RuleKind.RUN_RECOVERED:
        message = f"Run {run.pk} of {workflow.slug} succeeded after a failure"
    else:
        seconds = run_seconds(run, now)
        message = f"Run {run.pk} of {workflow.slug} has run for {seconds:.0f} s (over {rule.threshold_seconds} s)"
    return Alert(rule, f"rule:{rule.pk}:run:{run.pk}", event, run.pk, payload(rule, event, message, now, run=run))


def queued_alert(rule, step, now: datetime) -> Alert:
    """A step of the run waited in its queue too long (one alert per run and rule, naming the first step seen)."""
    run = step.run
    waited = (now - step.enqueued).total_seconds()
    message = (
        f"Step {step.step_id} of run {run.pk} ({run.workflow.slug}) has waited {waited:.0f} s in queue "
        f"{step.queue} (over {rule.threshold_seconds} s)"
    )
    extra = {"step": {"id": step.step_id, "queue": step.queue, "waited_seconds": round(waited, 1)}}
    event = EVENTS[rule.kind]
    return Alert(rule, f"rule:{rule.pk}:run:{run.pk}", event, run.pk, payload(rule, event, message, now, run, extra))


def no_worker_alert(rule, queue: str, since: datetime, now: datetime) -> Alert:
    """No worker has consumed `queue` since `since` (one alert per rule and outage: the outage starts there)."""
    gone = (now - since).total_seconds()
    message = f"No worker has consumed queue {queue} for {gone:.0f} s (over {rule.threshold_seconds} s)"
    extra = {"queue": {"name": queue, "since": since.isoformat()}}
    event = EVENTS[rule.kind]
    key = f"rule:{rule.pk}:queue:{queue}:{since.timestamp():.0f}"
    return Alert(rule, key, event, None, payload(rule, event, message, now, None, extra))


def payload(rule, event: str, message: str, now: datetime, run=None, extra: dict | None = None) -> dict:
    body = {
        "version": PAYLOAD_VERSION,
        "event": event,
        "message": message,
        "at": now.isoformat(),
        "team": rule.team.name,
        "rule": {"id": rule.pk, "name": rule.name, "kind": rule.kind, "threshold_seconds": rule.threshold_seconds},
        "workflow": None,
        "run": None,
    }
    if run is not None:
        body["workflow"] = {"id": run.workflow.slug, "name": run.workflow.name}
        body["run"] = {
            "id": run.pk,
            "status": run.status,
            "trigger": run.trigger,
            "error": (run.error or "")[:MAX_ERROR_CHARS],
            "created": run.created.isoformat(),
            "started": run.started.isoformat() if run.started else None,
            "finished": run.finished.isoformat() if run.finished else None,
            "url": absolute(reverse("run-detail", args=[run.pk])),
        }
    return {**body, **(extra or {})}


def absolute(path: str) -> str:
    """A link people can follow: OAWEB_PUBLIC_URL in front of the path (the path alone without it)."""
    base = settings.OAWEB_PUBLIC_URL.rstrip("/")
    return f"{base}{path}" if base else path
