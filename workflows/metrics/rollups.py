"""Metric rollups: every finished run and step, counted and timed per minute, hour and all time.

When a run reaches its final status (engine.maybe_finish_run, engine.cancel_run)
the transaction that says so notes it in PendingRollup (`run_finished`).
`add_pending` then reads the noted runs and their steps, a batch at a time,
and adds them to MetricRollup rows with INSERT ... ON CONFLICT DO UPDATE
statements that add to the counts (PostgreSQL and SQLite both speak it),
taking them off the list in the same transaction: each run is counted
exactly once. Every worker's heartbeat calls it, and so do the metrics
page, the API summary and /metrics before they read, so what they show is
exact. They read only rollups, so they stay fast with millions of step
runs, and runs can be pruned (prune_runs) without losing the charts.

A row is keyed (period, start, workflow, component): period 60 (a minute),
3600 (an hour), 86400 (a day, UTC) or 0 (all time, start = the epoch:
/metrics' counters). The component is blank for the run itself, `*` for all
the workflow's steps together, else the row counts the workflow's steps of
that component. Steps count in the minute they finished, the run in the
minute it finished; both are added once the run has finished. The coarse grains
and the `*` rows exist for reading speed: a 7-day chart reads 2 rows per
workflow and hour, not one per component, and a 7-day table reads whole days
as day rows (metrics.window_rows; figures in bench/metrics.py).

Latencies are histograms with FIXED bucket boundaries (BOUNDS), so buckets
add up across minutes, workflows and components, and percentiles come from
the summed buckets. The boundaries are the R10 preferred numbers (1, 1.25,
1.6, 2, 2.5, 3.2, 4, 5, 6.3, 8 per decade) from 1 ms to 100,000 s: neighbours
are at most 1.28 apart. A percentile is interpolated inside the bucket that
holds the true value, so it is off by less than that bucket's width: at most
28 % of the value (under 1 ms in absolute terms below 1 ms); beyond 100,000 s
the answer is 100,000 s. /metrics exports a subset (1, 2.5, 5 per decade),
which is exact because it is a subset.
"""

import bisect
import logging
from collections import defaultdict
from datetime import UTC, datetime

from django.db import DatabaseError, connection, models, transaction
from django.db.models import Func

from workflows.execution.models import Run, StepRun
from workflows.execution.status import RunStatus, StepStatus

log = logging.getLogger(__name__)

PREFERRED = ("1", "1.25", "1.6", "2", "2.5", "3.2", "4", "5", "6.3", "8")
# Upper bounds in seconds; a value v falls in the first bucket with v <= bound
# (Prometheus' `le`), the last bucket holds everything above the last bound.
BOUNDS = tuple(float(f"{mantissa}e{exponent}") for exponent in range(-3, 5) for mantissa in PREFERRED) + (1e5,)
BUCKETS = len(BOUNDS) + 1
WORST_RELATIVE_ERROR = max(upper / lower for lower, upper in zip(BOUNDS, BOUNDS[1:], strict=False)) - 1
# /metrics' buckets: 1, 2.5 and 5 per decade, parsed the same way, so an exact subset.
EXPORTED_BOUNDS = tuple(
    float(f"{mantissa}e{exponent}") for exponent in range(-3, 5) for mantissa in ("1", "2.5", "5")
) + (1e5,)

MINUTE, HOUR, DAY, TOTAL = 60, 3600, 86400, 0
PERIODS = (MINUTE, HOUR, DAY, TOTAL)
RUN = ""  # the component of a run's own rows
ALL_STEPS = "*"  # the component of rows counting a workflow's steps of every component
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

DURATION_FIELDS = tuple(f"d{index:02d}" for index in range(BUCKETS))
WAIT_FIELDS = tuple(f"w{index:02d}" for index in range(BUCKETS))
COUNT_FIELDS = (
    "count",
    "succeeded",
    "failed",
    "cancelled",
    "skipped",
    "attempts",
    "duration_count",
    "duration_sum",
    "wait_count",
    "wait_sum",
    "input_bytes",
    "output_bytes",
)
ADDED_FIELDS = COUNT_FIELDS + DURATION_FIELDS + WAIT_FIELDS
# The final statuses counted, each in its own column (a run is never skipped: its column stays 0).
OUTCOMES = (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.CANCELLED, StepStatus.SKIPPED)


def bucket_of(seconds: float) -> int:
    return bisect.bisect_left(BOUNDS, max(seconds, 0.0))


def percentile(counts, fraction: float, bounds=BOUNDS) -> float | None:
    """The `fraction` percentile of a histogram (counts per bucket), interpolated in its bucket.

    The bucket holding the value ranked fraction * total is exact; inside it
    the values are taken as evenly spread (as Prometheus' histogram_quantile).
    """
    total = sum(counts)
    if not total:
        return None
    rank = fraction * total
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            if index >= len(bounds):
                return bounds[-1]
            lower = bounds[index - 1] if index else 0.0
            return lower + (bounds[index] - lower) * max(rank - seen, 0) / count
        seen += count
    return bounds[-1]


# --- the model ------------------------------------------------------------------

# Two histograms of BUCKETS columns each, declared by a loop rather than 164
# lines by hand: plain integer columns are what lets SQL add them up.
Histograms = type(
    "Histograms",
    (models.Model,),
    {
        "__module__": __name__,
        "Meta": type("Meta", (), {"abstract": True}),
        **{name: models.IntegerField(default=0) for name in DURATION_FIELDS + WAIT_FIELDS},
    },
)


class MetricRollup(Histograms):
    """Runs (component blank) or steps of one component, of one workflow, in one period.

    d00..: execution time (steps: started -> finished of the last attempt;
    the run: created -> finished). w00..: queue wait (steps: enqueued ->
    started, first attempts only; the run: created -> first step started).
    """

    period = models.PositiveIntegerField(
        choices=[(MINUTE, "minute"), (HOUR, "hour"), (DAY, "day"), (TOTAL, "all time")]
    )
    start = models.DateTimeField()
    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE, related_name="+")
    component = models.CharField(max_length=100, blank=True)
    count = models.IntegerField(default=0)
    succeeded = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    cancelled = models.IntegerField(default=0)
    skipped = models.IntegerField(default=0)
    attempts = models.IntegerField(default=0)
    duration_count = models.IntegerField(default=0)
    duration_sum = models.FloatField(default=0)
    wait_count = models.IntegerField(default=0)
    wait_sum = models.FloatField(default=0)
    # JSON text of the steps' resolved inputs and their outputs, in bytes.
    input_bytes = models.BigIntegerField(default=0)
    output_bytes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # The upsert's ON CONFLICT target, and the pages' range scans
            # (period = ?, start >= ?) through its leading columns.
            models.UniqueConstraint(fields=["period", "start", "workflow", "component"], name="rollup_key"),
        ]

    def __str__(self):
        return f"{self.workflow_id}/{self.component or 'run'} @ {self.start} ({self.period})"


class GaugeSample(models.Model):
    """Once a minute: queue depths and busy workers, for the charts (workflows/metrics/reports.py samples)."""

    minute = models.DateTimeField()
    name = models.CharField(max_length=150, help_text="queue:NAME, workers:busy, workers:slots, workers:online")
    value = models.IntegerField()

    class Meta:
        constraints = [
            # One sample per minute however many processes sample it (insert
            # ignores conflicts); the charts scan a range of minutes by its prefix.
            models.UniqueConstraint(fields=["minute", "name"], name="gauge_minute_name"),
        ]

    def __str__(self):
        return f"{self.name} = {self.value} @ {self.minute}"


# --- measuring a finished run ----------------------------------------------------


class JsonBytes(Func):
    """Size in bytes of a JSON column's text (NULL for NULL)."""

    output_field = models.BigIntegerField()
    template = "length(CAST(%(expressions)s AS BLOB))"

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="octet_length(CAST(%(expressions)s AS text))", **extra)


def period_start(moment: datetime, period: int) -> datetime:
    if period == TOTAL:
        return EPOCH
    moment = moment.astimezone(UTC)
    if period == DAY:
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(second=0, microsecond=0)


def _new_row() -> dict:
    return {"count": 0, "duration": [0] * BUCKETS, "wait": [0] * BUCKETS, **dict.fromkeys(COUNT_FIELDS[1:], 0)}


def _add(row: dict, outcome: str, attempts: int, duration, wait, input_bytes, output_bytes) -> None:
    row["count"] += 1
    if outcome in OUTCOMES:
        row[outcome] += 1
    row["attempts"] += attempts
    if duration is not None:
        row["duration_count"] += 1
        row["duration_sum"] += duration
        row["duration"][bucket_of(duration)] += 1
    if wait is not None:
        row["wait_count"] += 1
        row["wait_sum"] += wait
        row["wait"][bucket_of(wait)] += 1
    row["input_bytes"] += input_bytes or 0
    row["output_bytes"] += output_bytes or 0


def _seconds(start, end):
    return (end - start).total_seconds() if start and end else None


def measure_runs(run_ids) -> dict[tuple, dict]:
    """{(period, start, workflow id, component): row to add} for these runs; runs not final are left out."""

    rows: dict[tuple, dict] = defaultdict(_new_row)
    runs = Run.objects.filter(pk__in=run_ids, status__in=RunStatus.FINAL, finished__isnull=False).values_list(
        "pk", "workflow_id", "status", "created", "started", "finished"
    )
    finished_runs = {}
    for run_id, workflow_id, status, created, started, finished in runs:
        finished_runs[run_id] = (workflow_id, finished)
        for period in PERIODS:
            row = rows[(period, period_start(finished, period), workflow_id, RUN)]
            _add(row, status, 0, _seconds(created, finished), _seconds(created, started), 0, 0)
    if not finished_runs:
        return rows
    # Reused steps (they ran in another run) are left out here, not in SQL: a
    # filter on reused_from tempts PostgreSQL to scan that index's NULLs.
    steps = (
        StepRun.objects.filter(run_id__in=finished_runs)
        .values_list("run_id", "component", "status", "attempt", "enqueued", "started", "finished", "reused_from_id")
        .annotate(input_bytes=JsonBytes("inputs"), output_bytes=JsonBytes("outputs"))
        .order_by()
    )
    for run_id, component, status, attempt, enqueued, started, finished, reused, input_bytes, output_bytes in steps:
        if reused is not None:
            continue
        workflow_id, run_finished = finished_runs[run_id]
        # Execution time only for steps that ran to an outcome; queue wait
        # only for first attempts (a retry's `enqueued` is its first one's).
        duration = _seconds(started, finished) if status in (StepStatus.SUCCEEDED, StepStatus.FAILED) else None
        wait = _seconds(enqueued, started) if attempt == 1 else None
        moment = finished or run_finished
        for period in PERIODS:
            start = period_start(moment, period)
            for key in (component, ALL_STEPS):
                row = rows[(period, start, workflow_id, key)]
                _add(row, status, attempt, duration, wait, input_bytes, output_bytes)
    return rows


UPSERT_CHUNK = 60  # rows per statement: SQLite allows 32,766 parameters, a row takes ~180


def upsert(rows: dict[tuple, dict]) -> None:
    """Add `rows` to the rollups: one INSERT ... ON CONFLICT DO UPDATE per chunk.

    Rows go in key order, so two transactions adding to the same rows lock
    them in the same order and can't deadlock; a concurrent writer of the
    same row waits for its lock and adds to it.
    """
    ordered = sorted(rows.items(), key=lambda item: item[0])
    with connection.cursor() as cursor:
        for offset in range(0, len(ordered), UPSERT_CHUNK):
            cursor.execute(*upsert_statement(ordered[offset : offset + UPSERT_CHUNK]))


def upsert_statement(chunk) -> tuple[str, list]:
    """The SQL and parameters adding `chunk` ((key, row) pairs) to the rollups.

    A run adds to a handful of a row's 176 columns: zeros go in as literals
    and only the columns some row adds to are updated. (With a parameter
    for every column, the driver's work on 2,000 parameters took longer
    than the rest of finishing a run.)
    """
    table = connection.ops.quote_name(MetricRollup._meta.db_table)
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    values, params, touched = [], [], set()
    for (period, start, workflow_id, component), row in chunk:
        cells = ["%s", "%s", "%s", "%s"]
        params += [period, adapt(start), workflow_id, component]
        added = [*(row[name] for name in COUNT_FIELDS), *row["duration"], *row["wait"]]
        for name, value in zip(ADDED_FIELDS, added, strict=True):
            if value:
                cells.append("%s")
                params.append(value)
                touched.add(name)
            else:
                cells.append("0")
        values.append(f"({', '.join(cells)})")
    columns = ", ".join(map(quote, ["period", "start", "workflow_id", "component", *ADDED_FIELDS]))
    # Every row counts at least one run or step, so `count` is always among them.
    updates = ", ".join(
        f"{name} = {table}.{name} + excluded.{name}" for name in map(quote, filter(touched.__contains__, ADDED_FIELDS))
    )
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES {', '.join(values)} "
        f"ON CONFLICT (period, start, workflow_id, component) DO UPDATE SET {updates}"
    )
    return sql, params


# --- runs waiting to be added ---------------------------------------------------------


class PendingRollup(models.Model):
    """A finished run whose numbers are not in the rollups yet (add_pending adds them)."""

    run = models.OneToOneField("workflows.Run", primary_key=True, on_delete=models.CASCADE, related_name="+")

    def __str__(self):
        return f"run {self.run_id}, to add to the rollups"


def run_finished(run_id: int) -> None:
    """Note a run for the rollups; called in the transaction that gives it its final status.

    One small row now, the numbers a moment later (add_pending): adding a
    run's dozen wide rows while finishing it cost more than the rest of the
    finish, and serialized every run of a workflow finishing in the same
    minute on the same row locks.
    """
    PendingRollup.objects.bulk_create([PendingRollup(run_id=run_id)], ignore_conflicts=True)


PENDING_BATCH = 500


def add_pending(batch: int = PENDING_BATCH) -> int:
    """Add every run noted by run_finished to the rollups; returns how many were added.

    Each batch is taken off the list and added in one transaction: a run is
    counted exactly once, however many processes call this at once (they
    take different runs: SKIP LOCKED on PostgreSQL; SQLite has one writer).
    Called by every worker's heartbeat, by the metrics pages and /metrics
    before they read (so what they show is exact), and by prune_runs.
    """
    added = 0
    while True:
        with transaction.atomic():
            run_ids = _take_pending(batch)
            if run_ids:
                upsert(measure_runs(run_ids))
        added += len(run_ids)
        if len(run_ids) < batch:
            return added


def _take_pending(batch: int) -> list[int]:
    table = connection.ops.quote_name(PendingRollup._meta.db_table)
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE run_id IN "
            f"(SELECT run_id FROM {table} ORDER BY run_id LIMIT %s{skip_locked}) RETURNING run_id",
            [batch],
        )
        return [run_id for (run_id,) in cursor.fetchall()]


def catch_up() -> None:
    """add_pending for a reader: a failure is logged and the reader shows what is there."""
    try:
        add_pending()
    except DatabaseError:
        log.exception("adding finished runs to the metric rollups failed")
