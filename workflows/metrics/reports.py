"""What the metrics page, the API summary and /metrics show, read from rollups and live state.

Numbers of finished runs and steps come from the rollups (workflows/metrics/rollups.py),
filtered to the workflows a user may see; queue depth and workers are global
and read live (Redis and the database), and sampled once a minute into
GaugeSample rows by every worker's maintenance thread for the charts.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Func, IntegerField, Max, Q, Sum
from django.utils import timezone

from registry.models import Component
from workflows.execution.models import Run, StepRun
from workflows.execution.state import get_store
from workflows.execution.status import RunStatus, StepStatus
from workflows.execution.workers import Worker
from workflows.metrics import rollups, timings
from workflows.metrics.rollups import DAY, DURATION_FIELDS, HOUR, MINUTE, RUN, WAIT_FIELDS, GaugeSample, MetricRollup

FRACTIONS = (0.5, 0.95, 0.99)


def percentiles(counts, fractions=FRACTIONS) -> list[float | None]:
    """Several percentiles of one histogram in one pass (rollups.percentile, batched)."""
    total = sum(counts)
    if not total:
        return [None] * len(fractions)
    return [rollups.percentile(counts, fraction) for fraction in fractions]


def failure_rate(row: dict) -> float | None:
    """Failed of those that ran to an outcome (succeeded or failed): cancelled and skipped don't count."""
    ran = row["succeeded"] + row["failed"]
    return row["failed"] / ran if ran else None


# --- ranges ----------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    key: str
    label: str
    span: timedelta
    step: int  # seconds per chart point
    period: int  # which rollups to read

    @property
    def minutes(self) -> float:
        return self.span.total_seconds() / 60


RANGES = {
    "1h": Range("1h", "1 hour", timedelta(hours=1), 60, MINUTE),
    "24h": Range("24h", "24 hours", timedelta(hours=24), 300, MINUTE),
    "7d": Range("7d", "7 days", timedelta(days=7), 3600, HOUR),
}
DEFAULT_RANGE = "1h"


class EpochBin(Func):
    """The chart point a timestamp belongs to: whole `step`-second bins since the epoch."""

    output_field = IntegerField()

    def __init__(self, expression, step: int):
        super().__init__(expression)
        self.step = int(step)

    def as_sql(self, compiler, connection, **extra):
        # %%%% becomes %% here and % in Django's SQLite cursor (which reads %s as a parameter).
        template = f"(CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) / {self.step})"
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        template = f"CAST(FLOOR(EXTRACT(EPOCH FROM %(expressions)s) / {self.step}) AS bigint)"
        return super().as_sql(compiler, connection, template=template, **extra)


def _ceil(moment: datetime, period: int) -> datetime:
    start = rollups.period_start(moment, period)
    return start if start == moment else start + timedelta(seconds=period)


def window_tiles(since: datetime, now: datetime) -> list[tuple[int, datetime, datetime | None]]:
    """The rollup grains that cover [since, now] exactly once, the coarsest that fit.

    (period, from, before): rows of that period starting in [from, before),
    before None meaning "up to now". `since` is a whole minute. Minute rows
    from `since` to the next whole hour and from the current hour on; hour
    rows between, except whole UTC days, which are day rows. A 7-day table
    so reads about 7 rows per workflow and component instead of 168
    (bench/metrics.py).
    """
    first_hour, current_hour = _ceil(since, HOUR), rollups.period_start(now, HOUR)
    if first_hour >= current_hour:
        return [(MINUTE, since, None)]
    edges = [(MINUTE, since, first_hour), (MINUTE, current_hour, None)]
    first_day, today = _ceil(since, DAY), rollups.period_start(now, DAY)
    if first_day >= today:
        return [*edges, (HOUR, first_hour, current_hour)]
    return [*edges, (HOUR, first_hour, first_day), (DAY, first_day, today), (HOUR, today, current_hour)]


def window_rows(since: datetime, now: datetime) -> Q:
    """window_tiles as a filter on MetricRollup."""
    rows = Q(pk__in=[])
    for period, start, before in window_tiles(since, now):
        tile = Q(period=period, start__gte=start)
        rows |= tile if before is None else tile & Q(start__lt=before)
    return rows


class BucketSum(Sum):
    """SUM of a histogram bucket, as the driver returns it.

    Both databases return a Python int for a SUM of integers, so Django's
    per-value int() is skipped: over 164 bucket columns and thousands of
    rows it was a fifth of the page's time (bench/metrics.py).
    """

    @property
    def convert_value(self):
        return self._convert_value_noop


def _sums() -> dict:
    return {
        **{name: Sum(name) for name in rollups.COUNT_FIELDS},
        **{name: BucketSum(name) for name in DURATION_FIELDS + WAIT_FIELDS},
    }


def _row(values: dict) -> dict:
    """A summed rollup row: counts, plus its two histograms as lists."""
    row = {name: values.get(name) or 0 for name in rollups.COUNT_FIELDS}
    row["duration"] = [values.get(name) or 0 for name in DURATION_FIELDS]
    row["wait"] = [values.get(name) or 0 for name in WAIT_FIELDS]
    return row


def _merge(rows) -> dict:
    merged = _row({})
    for row in rows:
        for name in rollups.COUNT_FIELDS:
            merged[name] += row[name]
        merged["duration"] = [a + b for a, b in zip(merged["duration"], row["duration"], strict=True)]
        merged["wait"] = [a + b for a, b in zip(merged["wait"], row["wait"], strict=True)]
    return merged


def _visible(queryset, user):
    if user is None or user.is_staff:
        return queryset
    return queryset.filter(workflow__team__members=user)


IS_RUN = ExpressionWrapper(Q(component=RUN), output_field=BooleanField())
# A workflow's totals: its run rows and its all-steps rows (not the per-component ones).
TOTALS = Q(component__in=[RUN, rollups.ALL_STEPS])


def _summary(row: dict, retried_waits: list[int] | None = None) -> dict:
    p50, p95, p99 = percentiles(row["duration"])
    w50, w95, w99 = percentiles(row["wait"] if any(row["wait"]) or not retried_waits else retried_waits)
    return {
        **{name: row[name] for name in ("count", "succeeded", "failed", "cancelled", "skipped", "attempts")},
        "failure_rate": failure_rate(row),
        "p50": p50,
        "p95": p95,
        "p99": p99,
        "wait_p50": w50,
        "wait_p95": w95,
        "wait_p99": w99,
        "mean": row["duration_sum"] / row["duration_count"] if row["duration_count"] else None,
        "input_bytes": row["input_bytes"] / row["count"] if row["count"] else None,
        "output_bytes": row["output_bytes"] / row["count"] if row["count"] else None,
    }


def _retried_waits(user, since: datetime) -> dict[str, list[int]]:
    """Queue waits of retried steps by component, `enqueued` to started: the rollups count first attempts only,
    and a retry moves `enqueued` past its back-off, so a component whose steps all retried had none ("–")."""
    steps = StepRun.objects.filter(status__in=StepStatus.FINAL, finished__gte=since, attempt__gt=1, reused_from=None)
    if user is not None and not user.is_staff:
        steps = steps.filter(run__workflow__team__members=user)
    steps = steps.filter(started__gte=F("enqueued")).values_list("component", "enqueued", "started")
    waits: dict[str, list[int]] = {}
    for component, enqueued, started in steps:
        waits.setdefault(component, [0] * rollups.BUCKETS)[rollups.bucket_of((started - enqueued).total_seconds())] += 1
    return waits


# --- the page ----------------------------------------------------------------------


def report(user, range_key: str = DEFAULT_RANGE, now: datetime | None = None) -> dict:
    """Everything the metrics page shows for `range_key`: totals, tables, chart series, live state."""
    rollups.catch_up()
    window = RANGES[range_key]
    now = now or timezone.now()
    last_bin = int(now.timestamp()) // window.step
    bins = [last_bin - offset for offset in range(window.span // timedelta(seconds=window.step) - 1, -1, -1)]
    first = datetime.fromtimestamp(bins[0] * window.step, tz=UTC)
    # The tables: the whole window, in as few rows as cover it; the chart: one grain, bin by bin.
    rows = _visible(MetricRollup.objects.filter(window_rows(first, now)), user)
    chart_rows = _visible(MetricRollup.objects.filter(TOTALS, period=window.period, start__gte=first), user)

    by_workflow = {}
    per_workflow = rows.filter(TOTALS).values("workflow_id", "workflow__slug", run=IS_RUN).annotate(**_sums())
    for values in per_workflow.order_by():
        entry = by_workflow.setdefault(values["workflow_id"], {"slug": values["workflow__slug"]})
        entry["runs" if values["run"] else "steps"] = _row(values)
    workflows = []
    for entry in sorted(by_workflow.values(), key=lambda item: item["slug"]):
        runs, steps = entry.get("runs") or _row({}), entry.get("steps") or _row({})
        workflows.append({"slug": entry["slug"], "runs": _summary(runs), "steps": _summary(steps)})
    retried = _retried_waits(user, first)
    components = [
        {"name": values["component"], **_summary(_row(values), retried.get(values["component"]))}
        for values in rows.exclude(TOTALS).values("component").annotate(**_sums()).order_by("component")
    ]
    run_total = _merge(entry.get("runs") or _row({}) for entry in by_workflow.values())
    step_total = _merge(entry.get("steps") or _row({}) for entry in by_workflow.values())
    return {
        "range": window,
        "ranges": list(RANGES.values()),
        "now": now,
        "since": first,
        "runs": _summary(run_total),
        "steps": _summary(step_total),
        "workflows": workflows,
        "components": components,
        "chart": _chart(chart_rows, window, bins, first),
        "live": live_state(user),
        "timings": timing_table(),
    }


CHART_SERIES = (
    "runs",
    "steps",
    "run_p50",
    "run_p95",
    "run_p99",
    "step_p50",
    "step_p95",
    "step_p99",
    "wait_p50",
    "wait_p95",
    "wait_p99",
    "run_errors",
    "step_errors",
)


def _chart(rows, window: Range, bins: list[int], first: datetime) -> dict:
    """Series for uPlot, one value per bin (None: nothing to show there)."""
    index = {number: position for position, number in enumerate(bins)}
    series = _rollup_series(rows, window, index, len(bins))
    queues, workers = _gauge_series(window, index, len(bins), first)
    return {
        "x": [number * window.step for number in bins],
        "step": window.step,
        **series,
        "queues": dict(sorted(queues.items())),
        "workers": workers,
    }


def _rollup_series(rows, window: Range, index: dict[int, int], size: int) -> dict[str, list]:
    """Rates, percentiles and error rates of runs and steps, per bin, from the rollups."""
    per_minute = 60 / window.step
    series = {name: [None] * size for name in CHART_SERIES}
    # A bin without rows had no runs or steps, while its percentiles are unknown.
    series["runs"], series["steps"] = [0] * size, [0] * size
    grouped = rows.annotate(bin=EpochBin(F("start"), window.step)).values("bin", run=IS_RUN).annotate(**_sums())
    for values in grouped.order_by():
        position = index.get(values["bin"])
        if position is not None:
            _fill_bin(series, position, values, per_minute)
    return series


def _fill_bin(series: dict[str, list], position: int, values: dict, per_minute: float) -> None:
    row = _row(values)
    rate = failure_rate(row)
    if values["run"]:
        series["runs"][position] = row["count"] * per_minute
        series["run_p50"][position], series["run_p95"][position], series["run_p99"][position] = percentiles(
            row["duration"]
        )
        series["run_errors"][position] = None if rate is None else rate * 100
    else:
        series["steps"][position] = row["count"] * per_minute
        series["step_p50"][position], series["step_p95"][position], series["step_p99"][position] = percentiles(
            row["duration"]
        )
        series["wait_p50"][position], series["wait_p95"][position], series["wait_p99"][position] = percentiles(
            row["wait"]
        )
        series["step_errors"][position] = None if rate is None else rate * 100


def _gauge_series(window: Range, index: dict[int, int], size: int, first: datetime) -> tuple[dict, dict]:
    """(queue depths by queue, busy and total worker slots), per bin, from the minute samples."""
    queues: dict[str, list] = {}
    workers = {"busy": [None] * size, "slots": [None] * size}
    samples = (
        GaugeSample.objects.filter(minute__gte=first)
        .annotate(bin=EpochBin(F("minute"), window.step))
        .values("bin", "name")
        .annotate(value=Max("value"))
        .order_by()
    )
    for sample in samples:
        position = index.get(sample["bin"])
        if position is None:
            continue
        kind, _, name = sample["name"].partition(":")
        if kind == "queue":
            queues.setdefault(name, [None] * size)[position] = sample["value"]
        elif kind == "workers" and name in workers:
            workers[name][position] = sample["value"]
    return queues, workers


def timing_table() -> list[dict]:
    """Where time goes, since the counters began: one line per timing (API: per route)."""
    lines = {}
    for (name, labels), histogram in timings.recorder.totals().items():
        label = dict(labels).get("route", "") if name == "api_request" else ""
        key = (name, label)
        line = lines.setdefault(
            key, {"name": name, "label": label, "buckets": [0] * (len(timings.BOUNDS) + 1), "sum": 0}
        )
        line["buckets"] = [a + b for a, b in zip(line["buckets"], histogram[:-1], strict=True)]
        line["sum"] += histogram[-1]
    table = []
    for line in lines.values():
        count = sum(line["buckets"])
        if not count:
            continue
        table.append(
            {
                "name": line["name"],
                "label": line["label"],
                "count": count,
                "mean": line["sum"] / count,
                "p95": rollups.percentile(line["buckets"], 0.95, timings.BOUNDS),
                "total": line["sum"],
            }
        )
    return sorted(table, key=lambda line: -line["total"])[:15]


# --- the API summary -----------------------------------------------------------------


def finished_since(user, since: datetime, now: datetime | None = None) -> dict:
    """Runs and steps finished since `since` (rounded down to the minute, or the hour past two days)."""
    rollups.catch_up()
    now = now or timezone.now()
    # Minute rows are pruned after a week or so (prune.MINUTE_ROWS_KEEP): older windows start on the hour.
    start = rollups.period_start(since, MINUTE if since >= now - timedelta(days=2) else HOUR)
    rows = _visible(MetricRollup.objects.filter(TOTALS, window_rows(start, now)), user)
    levels = {True: _row({}), False: _row({})}
    for values in rows.values(run=IS_RUN).annotate(**_sums()).order_by():
        levels[values["run"]] = _row(values)

    def outcomes(row):
        return {name: row[name] for name in rollups.OUTCOMES if row[name]}

    def latency(histogram):
        return dict(zip(("p50", "p95", "p99"), percentiles(histogram), strict=True))

    return {
        "since": start,
        "runs": outcomes(levels[True]),
        "steps": outcomes(levels[False]),
        "run_seconds": latency(levels[True]["duration"]),
        "step_seconds": latency(levels[False]["duration"]),
        "queue_wait_seconds": latency(levels[False]["wait"]),
    }


# --- live state: queues and workers ---------------------------------------------------


def queue_names() -> list[str]:
    names = {settings.CELERY_TASK_DEFAULT_QUEUE}
    names.update(name for name in Component.objects.values_list("queue", flat=True) if name)
    for queues in Worker.objects.filter(last_heartbeat__gte=timezone.now() - timedelta(days=1)).values_list(
        "queues", flat=True
    ):
        names.update(queues or [])
    # Steps waiting on a queue that no worker serves are the ones to see.
    names.update(
        StepRun.objects.filter(status__in=[StepStatus.QUEUED, StepStatus.RETRYING])
        .order_by()  # the default ordering would join runs and widen DISTINCT to its columns
        .values_list("queue", flat=True)
        .distinct()
    )
    return sorted(names)


def queue_depths() -> dict[str, int]:
    """Messages waiting per queue.

    Distributed: the broker's own count, LLEN of the queue's Redis lists
    (kombu keeps one list per priority: `NAME` and `NAME:1`..`NAME:9` with
    our `sep` and `priority_steps`). Embedded: the broker is this process's
    memory, so the steps the database holds as queued stand in for it.
    """

    names = queue_names()
    if settings.EMBEDDED:
        counts = dict(
            StepRun.objects.filter(status=StepStatus.QUEUED).values_list("queue").annotate(n=Count("id")).order_by()
        )
        return {settings.CELERY_TASK_DEFAULT_QUEUE: sum(counts.values())} | {
            name: 0 for name in names if name != settings.CELERY_TASK_DEFAULT_QUEUE
        }

    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    sep, steps = options.get("sep", "\x06\x16"), options.get("priority_steps", [0])
    pipe = get_store().client.pipeline(transaction=False)
    for name in names:
        for step in steps:
            pipe.llen(f"{name}{sep}{step}" if step else name)
    lengths = iter(pipe.execute())
    return {name: sum(next(lengths) for _ in steps) for name in names}


def worker_rows():
    """Workers seen in the last day (older lost ones are hidden), with their running steps counted."""

    workers = list(Worker.objects.filter(last_heartbeat__gte=timezone.now() - timedelta(days=1)))
    running = dict(
        StepRun.objects.filter(status=StepStatus.RUNNING, worker__in=[worker.name for worker in workers])
        .values_list("worker")
        .annotate(n=Count("id"))
        .order_by()
    )
    for worker in workers:
        worker.running = running.get(worker.name, 0)
    return sorted(workers, key=lambda worker: (worker.is_lost, worker.hostname, worker.pid))


def live_state(user=None) -> dict:
    workers = worker_rows()
    online = [worker for worker in workers if not worker.is_lost]
    runs = Run.objects.all() if user is None else Run.objects.visible_to(user)
    active = dict(
        runs.filter(status__in=[RunStatus.PENDING, RunStatus.RUNNING])
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "queues": queue_depths(),
        "workers_online": len(online),
        "workers_lost": len(workers) - len(online),
        "busy": sum(worker.running for worker in online),
        "slots": sum(worker.concurrency or 0 for worker in online),
        "runs_pending": active.get(RunStatus.PENDING, 0),
        "runs_running": active.get(RunStatus.RUNNING, 0),
    }


# --- sampling, once a minute -------------------------------------------------------------

_sampled = {"minute": None}


def sample_gauges(now: datetime | None = None) -> None:
    """Write this minute's queue depths and busy workers (once: later writers are ignored)."""
    minute = rollups.period_start(now or timezone.now(), MINUTE)
    state = live_state()
    samples = [GaugeSample(minute=minute, name=f"queue:{name}", value=depth) for name, depth in state["queues"].items()]
    samples += [
        GaugeSample(minute=minute, name="workers:busy", value=state["busy"]),
        GaugeSample(minute=minute, name="workers:slots", value=state["slots"]),
        GaugeSample(minute=minute, name="workers:online", value=state["workers_online"]),
    ]
    GaugeSample.objects.bulk_create(samples, ignore_conflicts=True)


def sample_gauges_if_due() -> None:
    """Called by each worker's maintenance thread every heartbeat; samples at most once a minute per process."""
    minute = int(time.time() // 60)
    if _sampled["minute"] == minute:
        return
    _sampled["minute"] = minute
    sample_gauges()
