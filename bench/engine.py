"""Engine benchmark: oaweb against raw Celery, same workers, same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oaweb_bench \
    REDIS_URL=redis://127.0.0.1:6379/8 python bench/engine.py

Starts its own `runworker` processes (threads pool), then measures:
  raw Celery: a chain of 10 no-op tasks (each enqueues the next), and a
              fan-out of 100 no-op tasks joined by a Redis counter;
  oaweb:      a 10-step linear core.noop workflow, a 100-wide fan-out/fan-in,
              and 100 concurrent runs of the linear workflow.
Prints per-step overhead (p50/p95), steps per second, runs per minute and
each oaweb figure as a ratio to its raw Celery baseline.
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oaweb.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ["OAWEB_COMPONENT_MODULES"] = "bench.baseline"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db.models import Max, Min  # noqa: E402

from bench.baseline import chain_link, client, fan_out_leaf  # noqa: E402
from tests.workers import WorkerPool  # noqa: E402
from workflows.engine import start_run  # noqa: E402
from workflows.models import Run, Team, Workflow  # noqa: E402

# Completion is polled slowly and durations are read from the runs' own
# timestamps (created -> finished): a fast poll would steal the CPU the
# workers need on a 2-core machine and tilt the comparison.
POLL = 0.02
MAINTENANCE_SETTINGS = ("OAWEB_LEASE_SECONDS", "OAWEB_HEARTBEAT_SECONDS", "OAWEB_REAPER_SECONDS")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def raw_chain(length):
    done = f"bench:done:{uuid.uuid4().hex}"
    started = time.perf_counter()
    chain_link.delay(length, done)
    client().blpop(done, timeout=60)
    return time.perf_counter() - started


def raw_fan_out(width):
    key = uuid.uuid4().hex
    counter, done = f"bench:count:{key}", f"bench:done:{key}"
    started = time.perf_counter()
    for _ in range(width):
        fan_out_leaf.delay(width, counter, done)
    client().blpop(done, timeout=120)
    return time.perf_counter() - started


def wait_all(run_ids, timeout=600):
    deadline = time.monotonic() + timeout
    pending = set(run_ids)
    while pending and time.monotonic() < deadline:
        finished = set(
            Run.objects.filter(pk__in=pending, status__in=["succeeded", "failed", "cancelled"]).values_list(
                "pk", flat=True
            )
        )
        pending -= finished
        if pending:
            time.sleep(POLL)
    failed = Run.objects.filter(pk__in=run_ids).exclude(status="succeeded").count()
    if pending or failed:
        raise SystemExit(f"{len(pending)} runs unfinished, {failed} not succeeded")


def oaweb_run(version):
    run = start_run(version, {})
    wait_all([run.pk])
    run.refresh_from_db()
    return (run.finished - run.created).total_seconds()


def linear_definition(length):
    steps = [{"id": "s0", "component": "core.noop", "inputs": {"n": 0}}]
    for n in range(1, length):
        steps.append({"id": f"s{n}", "component": "core.noop", "inputs": {"n": f"{{{{ steps.s{n - 1}.outputs.n }}}}"}})
    return {"id": f"bench-linear-{length}", "steps": steps}


def fan_definition(width):
    steps = [{"id": "start", "component": "core.noop"}]
    steps += [{"id": f"b{n}", "component": "core.noop", "depends_on": ["start"]} for n in range(width)]
    steps.append({"id": "join", "component": "core.noop", "depends_on": [f"b{n}" for n in range(width)]})
    return {"id": f"bench-fan-{width}", "steps": steps}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    if settings.EMBEDDED or "postgres" not in settings.DATABASES["default"]["ENGINE"]:
        raise SystemExit("set REDIS_URL and a PostgreSQL DATABASE_URL (see the docstring)")

    call_command("migrate", verbosity=0)
    call_command("sync_components", verbosity=0)
    team = Team.default()
    linear, _ = Workflow.import_definition(linear_definition(10), team=team)
    fan, _ = Workflow.import_definition(fan_definition(100), team=team)

    # The product's own heartbeat, lease and reaper intervals (tests/workers.py
    # shortens them so that the recovery tests run in seconds).
    production_intervals = {name: str(getattr(settings, name)) for name in MAINTENANCE_SETTINGS}
    pool = WorkerPool(database_url=os.environ.get("DATABASE_URL"), extra_env=production_intervals)
    for n in range(args.workers):
        pool.start(f"bench{n}", queues="default", concurrency=args.concurrency)
    try:
        for _ in range(3):  # warm up both paths
            raw_chain(10)
            oaweb_run(linear)
        rows = measure(args.repeat, linear, fan)
    finally:
        pool.stop_all()
    print_table(rows, args)


def measure(repeat, linear, fan):
    raw_chain_s = [raw_chain(10) / 10 for _ in range(repeat)]
    oaweb_chain_s = [oaweb_run(linear) / 10 for _ in range(repeat)]
    raw_fan = statistics.median(raw_fan_out(100) for _ in range(max(3, repeat // 4)))
    oaweb_fan = statistics.median(oaweb_run(fan) for _ in range(max(3, repeat // 4)))

    raw_many_start = time.perf_counter()
    done_keys = []
    for _ in range(100):
        done = f"bench:done:{uuid.uuid4().hex}"
        done_keys.append(done)
        chain_link.delay(10, done)
    for done in done_keys:
        client().blpop(done, timeout=300)
    raw_many = time.perf_counter() - raw_many_start

    run_ids = [start_run(linear, {}).pk for _ in range(100)]
    wait_all(run_ids)
    span = Run.objects.filter(pk__in=run_ids).aggregate(first=Min("created"), last=Max("finished"))
    oaweb_many = (span["last"] - span["first"]).total_seconds()
    return {
        "raw_chain": raw_chain_s,
        "oaweb_chain": oaweb_chain_s,
        "raw_fan": raw_fan,
        "oaweb_fan": oaweb_fan,
        "raw_many": raw_many,
        "oaweb_many": oaweb_many,
    }


def print_table(rows, args):
    ms = 1000
    raw_p50, raw_p95 = percentile(rows["raw_chain"], 0.5) * ms, percentile(rows["raw_chain"], 0.95) * ms
    oa_p50, oa_p95 = percentile(rows["oaweb_chain"], 0.5) * ms, percentile(rows["oaweb_chain"], 0.95) * ms
    raw_fan_sps, oa_fan_sps = 101 / rows["raw_fan"], 102 / rows["oaweb_fan"]
    raw_many_sps, oa_many_sps = 1000 / rows["raw_many"], 1000 / rows["oaweb_many"]
    print(f"workers: {args.workers} x threads({args.concurrency}); repeat {args.repeat}")
    print(f"{'measure':<44}{'raw Celery':>12}{'oaweb':>12}{'ratio':>8}")
    print(f"{'linear 10, per-step overhead p50 (ms)':<44}{raw_p50:>12.2f}{oa_p50:>12.2f}{oa_p50 / raw_p50:>8.2f}")
    print(f"{'linear 10, per-step overhead p95 (ms)':<44}{raw_p95:>12.2f}{oa_p95:>12.2f}{oa_p95 / raw_p95:>8.2f}")
    print(f"{'fan-out 100 + join, steps/s':<44}{raw_fan_sps:>12.0f}{oa_fan_sps:>12.0f}{oa_fan_sps / raw_fan_sps:>8.2f}")
    print(
        f"{'100 concurrent linear runs, steps/s':<44}{raw_many_sps:>12.0f}{oa_many_sps:>12.0f}"
        f"{oa_many_sps / raw_many_sps:>8.2f}"
    )
    raw_rpm, oa_rpm = 100 / rows["raw_many"] * 60, 100 / rows["oaweb_many"] * 60
    print(f"{'100 concurrent linear runs, runs/min':<44}{raw_rpm:>12.0f}{oa_rpm:>12.0f}{oa_rpm / raw_rpm:>8.2f}")


if __name__ == "__main__":
    main()
