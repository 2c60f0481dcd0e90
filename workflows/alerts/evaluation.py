"""The heartbeat's look at what happened: rules matched against runs, waiting steps and workers.

Nothing here runs on a step's path: a worker's maintenance thread calls
`evaluate` (hooks.py), one process at a time. It reads

* runs finished since each rule's watermark (`checked_until`), looking back
  OVERLAP more, since a run's finish may commit a moment after its
  timestamp: the unique delivery key makes a second look harmless;
* runs still going, for "ran longer than N";
* steps queued for longer than N;
* the worker registry, for "no worker on a queue for N";

and writes one AlertDelivery per alert (an outbox row; delivery.py sends
it). A run that finished while no worker was alive is still found: the
watermark is in the database, not in a process.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from workflows.alerts import rules
from workflows.alerts.models import AlertDelivery, AlertRule, RuleKind
from workflows.execution.models import Run, StepRun
from workflows.execution.status import RunStatus, StepStatus
from workflows.execution.workers import Worker, lost_after

OVERLAP = timedelta(seconds=60)
RUN_BATCH = 1000  # finished runs read per pass; more wait for the next beat
FINISHED_KINDS = (RuleKind.RUN_FAILED, RuleKind.RUN_RECOVERED, RuleKind.RUN_LONG)
DEFAULT_QUEUE = "default"


def evaluate(now=None) -> int:
    """One look at every enabled rule; returns how many new deliveries were written."""
    now = now or timezone.now()
    active = list(
        AlertRule.objects.filter(enabled=True, channel__enabled=True).select_related("team", "channel", "workflow")
    )
    if not active:
        return 0
    alerts = []
    finished_rules = [rule for rule in active if rule.kind in FINISHED_KINDS]
    watermark = None
    if finished_rules:
        found, watermark = finished_run_alerts(finished_rules, now)
        alerts += found
    alerts += long_run_alerts([rule for rule in active if rule.kind == RuleKind.RUN_LONG], now)
    alerts += queued_step_alerts([rule for rule in active if rule.kind == RuleKind.STEP_QUEUED_LONG], now)
    alerts += no_worker_alerts([rule for rule in active if rule.kind == RuleKind.NO_WORKER], now)
    with transaction.atomic():
        created = write(alerts)
        if watermark is not None:
            AlertRule.objects.filter(pk__in=[rule.pk for rule in finished_rules]).update(checked_until=watermark)
    return created


def write(alerts) -> int:
    """The deliveries of these alerts; those whose key exists already are left alone (dedup)."""
    if not alerts:
        return 0
    keys = [alert.key for alert in alerts]
    known = set(AlertDelivery.objects.filter(key__in=keys).values_list("key", flat=True))
    fresh = {alert.key: alert for alert in alerts if alert.key not in known}
    rows = [
        AlertDelivery(
            team_id=alert.rule.team_id,
            rule=alert.rule,
            channel_id=alert.rule.channel_id,
            key=alert.key,
            event=alert.event,
            run_id=alert.run_id,
            payload=alert.payload,
        )
        for alert in fresh.values()
    ]
    # ignore_conflicts: another process may write the same key meanwhile; the unique key keeps one.
    AlertDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def finished_run_alerts(finished_rules, now):
    """(alerts for runs finished since the rules' watermarks, the new watermark)."""
    since = min(rule.checked_until for rule in finished_rules) - OVERLAP
    teams = {rule.team_id for rule in finished_rules}
    runs = list(
        Run.objects.filter(
            finished__gt=since,
            finished__lte=now,
            status__in=[RunStatus.FAILED, RunStatus.SUCCEEDED],
            workflow__team_id__in=teams,
        )
        .select_related("workflow")
        .order_by("finished", "id")[:RUN_BATCH]
    )
    watermark = runs[-1].finished if len(runs) == RUN_BATCH else now
    recovered = [rule for rule in finished_rules if rule.kind == RuleKind.RUN_RECOVERED]
    alerts = []
    for run in runs:
        previous_failed = None  # read only for a success some recovery rule watches
        for rule in finished_rules:
            if not rules.in_scope(rule, run) or run.finished <= rule.checked_until - OVERLAP:
                continue
            if rule in recovered and previous_failed is None and run.status == RunStatus.SUCCEEDED:
                previous_failed = previous_run_failed(run)
            if rules.matches_finished(rule, run, bool(previous_failed)):
                alerts.append(rules.run_alert(rule, run, now))
    return alerts, watermark


def previous_run_failed(run) -> bool:
    """Whether the workflow's run before this one (among those that succeeded or failed) failed."""
    before = (
        Run.objects.filter(workflow_id=run.workflow_id, status__in=[RunStatus.FAILED, RunStatus.SUCCEEDED])
        .filter(created__lte=run.created, id__lt=run.pk)
        .order_by("-created", "-id")
        .values_list("status", flat=True)
        .first()
    )
    return before == RunStatus.FAILED


def long_run_alerts(long_rules, now):
    """Runs still going for longer than a rule's N (a finished one is found by finished_run_alerts)."""
    if not long_rules:
        return []
    shortest = min(rule.threshold_seconds or 0 for rule in long_rules)
    runs = Run.objects.filter(
        status__in=RunStatus.ACTIVE,
        created__lt=now - timedelta(seconds=shortest),
        workflow__team_id__in={rule.team_id for rule in long_rules},
    ).select_related("workflow")[:RUN_BATCH]
    return [
        rules.run_alert(rule, run, now)
        for run in runs
        for rule in long_rules
        if rule.threshold_seconds is not None
        and rules.in_scope(rule, run)
        and rules.run_seconds(run, now) > rule.threshold_seconds
    ]


def queued_step_alerts(queued_rules, now):
    """Steps queued for longer than a rule's N: one alert per run and rule."""
    if not queued_rules:
        return []
    shortest = min(rule.threshold_seconds or 0 for rule in queued_rules)
    steps = (
        StepRun.objects.filter(
            status=StepStatus.QUEUED,
            enqueued__lt=now - timedelta(seconds=shortest),
            run__workflow__team_id__in={rule.team_id for rule in queued_rules},
        )
        .select_related("run__workflow")
        .order_by("enqueued")[:RUN_BATCH]
    )
    alerts = {}
    for step in steps:
        for rule in queued_rules:
            waited = (now - step.enqueued).total_seconds()
            if rule.threshold_seconds is None or waited <= rule.threshold_seconds:
                continue
            if rules.in_scope(rule, step.run) and (not rule.queue or rule.queue == step.queue):
                alert = rules.queued_alert(rule, step, now)
                alerts.setdefault(alert.key, alert)
    return list(alerts.values())


def no_worker_alerts(idle_rules, now):
    """Queues no online worker consumes, for longer than a rule's N (counted from the last worker seen).

    The outage starts at the last heartbeat of a worker of that queue, or at
    the rule's creation when none was ever seen (or seen before it).
    """
    if not idle_rules:
        return []
    workers = list(Worker.objects.values_list("queues", "last_heartbeat"))
    online = now - lost_after()
    alerts = []
    for rule in idle_rules:
        queue = rule.queue or DEFAULT_QUEUE
        last = max((beat for queues, beat in workers if isinstance(queues, list) and queue in queues), default=None)
        if last is not None and last >= online:
            continue  # a worker consumes it now
        since = rule.created if last is None else max(last, rule.created)
        if rule.threshold_seconds is not None and (now - since).total_seconds() > rule.threshold_seconds:
            alerts.append(rules.no_worker_alert(rule, queue, since, now))
    return alerts
