"""Metrics benchmark: the metrics page and /metrics over 1,000,000 step runs.

    createdb -h 127.0.0.1 -U postgres oaweb_metrics_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oaweb_metrics_bench \
    REDIS_URL=redis://127.0.0.1:6379/8 python bench/metrics.py

Fills its own database (once; --refill to start again) with 100,000 runs of
10 steps each across 50 workflows and the last 30 days, and their rollups;
then times the metrics page for each range (a staff user: every workflow)
and a /metrics scrape with Django's test client, and prints the medians.

The runs and steps are written by `INSERT ... SELECT generate_series`; the
rollups by one bulk SQL statement per period that computes what
workflows.metrics.rollups.add_pending adds per run (same columns, same buckets; it
uses width_bucket, which puts a value equal to a boundary in the bucket
above, where add_pending puts it below: random durations never hit one).
The first query printed is checked against the run and step counts.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oaweb.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from workflows.execution.models import Run, StepRun  # noqa: E402
from workflows.metrics import rollups  # noqa: E402
from workflows.metrics.rollups import MetricRollup  # noqa: E402
from workflows.models import Team, Workflow  # noqa: E402

WORKFLOWS = 50
RUNS = 100_000
STEPS = 10
DAYS = 30
COMPONENTS = ["core.noop", "core.sleep", "http.request", "llm.chat", "text.template", "json.pick", "core.fail", "x.y"]


def fill():
    team = Team.default()
    for number in range(WORKFLOWS):
        steps = [{"id": f"s{k}", "component": "core.noop"} for k in range(STEPS)]
        Workflow.import_definition({"id": f"bench-wf-{number:02d}", "steps": steps}, team=team)
    components = "ARRAY[" + ", ".join(f"'{name}'" for name in COMPONENTS) + "]"
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(
            "CREATE TEMP TABLE bench_wf AS SELECT row_number() OVER (ORDER BY w.id) - 1 AS n, w.id, "
            "(SELECT max(v.id) FROM workflows_workflowversion v WHERE v.workflow_id = w.id) AS version_id "
            "FROM workflows_workflow w WHERE w.slug LIKE 'bench-wf-%%'"
        )
        # Runs: spread evenly over the last DAYS, 3 % failed, 10 steps 1.2 s apart.
        cursor.execute(
            f"""
            INSERT INTO workflows_run (workflow_id, version_id, status, inputs, error, priority, trigger,
                                       created, started, finished)
            SELECT w.id, w.version_id, CASE WHEN random() < 0.03 THEN 'failed' ELSE 'succeeded' END,
                   '{{}}', '', 5, 'api', t, t + interval '5 ms', t + interval '13 s' + random() * interval '3 s'
            FROM (SELECT g, now() - random() * interval '{DAYS} days' AS t
                  FROM generate_series(1, {RUNS}) g) runs
            JOIN bench_wf w ON w.n = runs.g % {WORKFLOWS}
            """
        )
        cursor.execute(
            f"""
            INSERT INTO workflows_steprun (run_id, step_id, component, component_version, status, attempt,
                inputs, outputs, error, queue, priority, worker, task_id, enqueued, started, finished)
            SELECT r.id, 's' || k, ({components})[1 + (r.workflow_id + k) % {len(COMPONENTS)}], '1.0.0',
                   CASE WHEN r.status = 'failed' AND k = {STEPS - 1} THEN 'failed' ELSE 'succeeded' END, 1,
                   '{{"n": 1}}', '{{"n": 1}}', '', 'default', 5, 'bench:1', '',
                   s.enqueued, s.enqueued + s.wait, s.enqueued + s.wait + s.exec
            FROM workflows_run r
            CROSS JOIN generate_series(0, {STEPS - 1}) k
            CROSS JOIN LATERAL (SELECT r.created + k * interval '1.2 s' AS enqueued,
                                       0.0005 * exp(5 * random()) * interval '1 s' AS wait,
                                       0.01 * exp(5 * random()) * interval '1 s' AS exec) s
            WHERE r.workflow_id IN (SELECT id FROM bench_wf)
            """
        )
    fill_rollups()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def _bucket_columns(expression: str, prefix: str) -> str:
    bounds = "ARRAY[" + ", ".join(repr(bound) for bound in rollups.BOUNDS) + "]::float8[]"
    bucket = f"width_bucket({expression}, {bounds})"
    return ", ".join(
        f"count(*) FILTER (WHERE {expression} IS NOT NULL AND {bucket} = {index})" for index in range(rollups.BUCKETS)
    )


def fill_rollups():
    """What add_pending adds per run, for every run at once (see the module's docstring)."""
    columns = ", ".join(["period", "start", "workflow_id", "component", *rollups.ADDED_FIELDS])
    run_duration = "extract(epoch FROM r.finished - r.created)"
    run_wait = "extract(epoch FROM r.started - r.created)"
    step_duration = "extract(epoch FROM s.finished - s.started)"
    step_wait = "extract(epoch FROM s.started - s.enqueued)"
    with connection.cursor() as cursor:
        grains = [(rollups.MINUTE, "minute"), (rollups.HOUR, "hour"), (rollups.DAY, "day")]
        starts = [(period, f"date_trunc('{unit}', {{t}})") for period, unit in grains] + [(rollups.TOTAL, "'epoch'")]
        for period, start in starts:
            cursor.execute(
                f"""
                INSERT INTO workflows_metricrollup ({columns})
                SELECT {period}, {start.format(t="r.finished")}::timestamptz, r.workflow_id, '', count(*),
                       count(*) FILTER (WHERE r.status = 'succeeded'), count(*) FILTER (WHERE r.status = 'failed'),
                       count(*) FILTER (WHERE r.status = 'cancelled'), 0, 0,
                       count(*), sum({run_duration}), count(r.started), coalesce(sum({run_wait}), 0), 0, 0,
                       {_bucket_columns(run_duration, "d")}, {_bucket_columns(run_wait, "w")}
                FROM workflows_run r
                GROUP BY 2, r.workflow_id
                """
            )
            # Per component, then every component together (the `*` rows).
            for component, group in (("s.component", ", s.component"), (f"'{rollups.ALL_STEPS}'", "")):
                cursor.execute(
                    f"""
                INSERT INTO workflows_metricrollup ({columns})
                SELECT {period}, {start.format(t="s.finished")}::timestamptz, r.workflow_id, {component}, count(*),
                       count(*) FILTER (WHERE s.status = 'succeeded'), count(*) FILTER (WHERE s.status = 'failed'),
                       count(*) FILTER (WHERE s.status = 'cancelled'), count(*) FILTER (WHERE s.status = 'skipped'),
                       sum(s.attempt), count(*), sum({step_duration}), count(*), sum({step_wait}),
                       sum(octet_length(s.inputs::text)), sum(octet_length(s.outputs::text)),
                       {_bucket_columns(step_duration, "d")}, {_bucket_columns(step_wait, "w")}
                FROM workflows_steprun s JOIN workflows_run r ON r.id = s.run_id
                GROUP BY 2, r.workflow_id{group}
                """
                )


def timed(client, url, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.content[:500])
    return statistics.median(times), min(times), len(response.content)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--refill", action="store_true", help="empty the database's runs and rollups first")
    args = parser.parse_args()
    if (
        "postgres" not in settings.DATABASES["default"]["ENGINE"]
        or "metrics_bench" not in connection.settings_dict["NAME"]
    ):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database of its own (oaweb_metrics_bench, see above)")

    call_command("migrate", verbosity=0)
    call_command("sync_components", verbosity=0)
    if args.refill:
        with connection.cursor() as cursor:
            tables = "workflows_run, workflows_steprun, workflows_stepattempt, workflows_metricrollup"
            cursor.execute(f"TRUNCATE {tables} CASCADE")  # CASCADE: schedules point at their last run
    if not StepRun.objects.exists():
        started = time.perf_counter()
        fill()
        print(f"filled in {time.perf_counter() - started:.0f} s")
    steps, runs = StepRun.objects.count(), Run.objects.count()
    totals = MetricRollup.objects.filter(period=0, component="").values_list("count", flat=True)
    per_component = MetricRollup.objects.filter(period=0).exclude(component__in=["", rollups.ALL_STEPS])
    all_steps = MetricRollup.objects.filter(period=0, component=rollups.ALL_STEPS)
    for rows in (per_component, all_steps):
        assert sum(rows.values_list("count", flat=True)) == steps, "step rollups do not match the rows"
    assert sum(totals) == runs, "run rollups do not match the rows"
    rows = {period: MetricRollup.objects.filter(period=period).count() for period in rollups.PERIODS}
    print(
        f"{steps:,} step runs, {runs:,} runs, {Workflow.objects.count()} workflows; rollup rows: "
        f"{rows[rollups.MINUTE]:,} per minute, {rows[rollups.HOUR]:,} per hour, {rows[rollups.DAY]:,} per day, "
        f"{rows[rollups.TOTAL]:,} all time"
    )

    user, _ = get_user_model().objects.get_or_create(username="bench-staff", defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    print(f"{'request':<32}{'median ms':>10}{'best ms':>10}{'bytes':>10}")
    for url in ("/stats/?range=1h", "/stats/?range=24h", "/stats/?range=7d", "/metrics"):
        client.get(url)  # warm: templates, connections
        median, best, size = timed(client, url, args.repeat)
        print(f"{url:<32}{median:>10.1f}{best:>10.1f}{size:>10,}")


if __name__ == "__main__":
    main()
