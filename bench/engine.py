"""Engine benchmark: oaweb against raw Celery on the same workers in the same run, n8n's figures beside.

    createdb -h 127.0.0.1 -U postgres oaweb_bench    # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oaweb_bench \
    REDIS_URL=redis://127.0.0.1:6379/8 .venv/bin/python bench/engine.py

    options: --rounds 3, --repeat 20 (sequential runs), --burst 100 (runs started at once),
             --workers 1, --concurrency 8; a short run: --rounds 1 --repeat 5 --burst 20

Starts its own `runworker` processes (threads pool, the product's own lease,
heartbeat and reaper intervals). Raw Celery and oaweb take turns on the same
workers, so both sides of every ratio see the same machine. Measures:

  W1  10 core.noop steps in a chain        raw: 10 tasks, each enqueues the next
  W2  1 step, 50 parallel steps, 1 join    raw: 1 task enqueues 50, a Redis counter
                                                 joins them, the last enqueues the final task
  W3  5 core.sleep steps of 100 ms, chain  raw: 5 chained tasks sleeping 100 ms each
      each: p50 ms per run of --repeat sequential runs, runs/min of --burst runs started at once
  fan-out 100 + join, steps/s              raw: 100 tasks joined by a Redis counter
  the W1 burst as steps/s (100 concurrent linear runs)
  a scientific-workflow DAG (bench/scientific.py, fixed seed): makespan against its bound,
      max(critical path, total sleep / worker slots)
  sub-workflows: what each of 3 nested levels adds to a one-step run, against a W1 step's time
  map: a map of 1,000 core.noop items between two steps, against the same 1,000 steps written
      as a static fan-out + join (issue 19), taking turns
  peak RSS (VmHWM) of this process, which starts the runs as the web process does, plus the
      worker, during the W1 burst

oaweb's durations come from the runs' own rows (finished - created); raw
Celery's from the wall clock between enqueueing and the last task's report.
The whole measurement runs --rounds times and the table shows each figure's
median over the rounds; a ratio is the median of each round's ratio. Then
the targets that must hold and the aim (n8n), each with "holds" or "MISSES".
The script prints figures, it never asserts them.
"""

import argparse
import io
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

# This process plays the web process, which daphne serves: it carries Twisted
# as daphne does (settings load daphne's app only for `runserver`).
import daphne.server  # noqa: E402, F401
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db.models import Max, Min  # noqa: E402

from bench import scientific  # noqa: E402
from bench.baseline import chain_link, client, fan_out_head, fan_out_leaf, sleep_link  # noqa: E402
from tests.workers import WorkerPool  # noqa: E402
from workflows.execution.models import Run  # noqa: E402
from workflows.execution.runs import start_run  # noqa: E402
from workflows.metrics import rollups  # noqa: E402
from workflows.models import Team, Workflow  # noqa: E402

# Completion is polled slowly and durations are read from the runs' own
# timestamps (created -> finished): a fast poll would steal the CPU the
# workers need on a 2-core machine and tilt the comparison.
POLL = 0.02
FINAL = ("succeeded", "failed", "cancelled")
MAINTENANCE_SETTINGS = ("OAWEB_LEASE_SECONDS", "OAWEB_HEARTBEAT_SECONDS", "OAWEB_REAPER_SECONDS")
RUN_TIMEOUT = 600

W1_LENGTH = 10
W2_WIDTH = 50
W3_LENGTH, W3_SLEEP = 5, 0.1
FAN_WIDTH = 100
SUB_LEVELS = 3
MAP_WIDTH = 1000
SETTLE_SECONDS = 2.0
RSS_TARGET_MB = 300
UNIT_DIGITS = {"x": 2, "ms": 1, "MB": 0}

# n8n's figures for W1, W2 and W3, measured on this machine earlier (not by
# this script), kept as reference data: (p50 ms of sequential runs, runs/min
# of a burst of 100 runs). "regular" runs executions in the main process,
# "queue" mode hands them to a worker through Redis.
N8N = {
    "w1": {"regular": (23, 3140), "queue": (35, 2156)},
    "w2": {"regular": (28, 2354), "queue": (48, 1900)},
    "w3": {"regular": (535, 3474), "queue": (558, 954)},
}


# --- shapes -----------------------------------------------------------------


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


def sleep_chain_definition(length, seconds):
    steps = [{"id": "s0", "component": "core.sleep", "inputs": {"seconds": seconds}}]
    for n in range(1, length):
        steps.append(
            {"id": f"s{n}", "component": "core.sleep", "inputs": {"seconds": seconds}, "depends_on": [f"s{n - 1}"]}
        )
    return {"id": f"bench-sleep-{length}x{round(seconds * 1000)}ms", "steps": steps}


def sub_workflow_definitions(levels):
    """A one-step workflow, and `levels` more, each running the one below as its only step (issue 19)."""
    definitions = [{"id": "bench-sub-0", "steps": [{"id": "s", "component": "core.noop"}]}]
    for level in range(1, levels + 1):
        definitions.append({"id": f"bench-sub-{level}", "steps": [{"id": "s", "workflow": f"bench-sub-{level - 1}"}]})
    return definitions


def map_definition(width):
    """A step whose outputs hold a list, a map of core.noop over it, and a step after (issue 19)."""
    each = {"component": "core.noop", "map": "{{ steps.start.outputs.list }}", "inputs": {"i": "{{ item }}"}}
    steps = [
        {"id": "start", "component": "core.noop", "inputs": {"list": list(range(width))}},
        {"id": "each", **each},
        {"id": "join", "component": "core.noop", "depends_on": ["each"]},
    ]
    return {"id": f"bench-map-{width}", "steps": steps}


def import_shapes(dag):
    """The benchmark's workflows, one slug per shape; re-importing an unchanged one adds no version."""
    team = Team.default()
    definitions = {
        "w1": linear_definition(W1_LENGTH),
        "w2": fan_definition(W2_WIDTH),
        "w3": sleep_chain_definition(W3_LENGTH, W3_SLEEP),
        "fan": fan_definition(FAN_WIDTH),
        "dag": scientific.definition(dag, f"bench-science-{scientific.SEED}"),
        "wide_fan": fan_definition(MAP_WIDTH),
        "map": map_definition(MAP_WIDTH),
    }
    shapes = {name: Workflow.import_definition(definition, team=team)[0] for name, definition in definitions.items()}
    for level, definition in enumerate(sub_workflow_definitions(SUB_LEVELS)):
        shapes[f"sub{level}"] = Workflow.import_definition(definition, team=team)[0]
    return shapes


# --- raw Celery runs ----------------------------------------------------------


def start_raw_w1(done_key):
    chain_link.delay(W1_LENGTH, done_key)


def start_raw_w2(done_key):
    fan_out_head.delay(W2_WIDTH, f"{done_key}:count", done_key)


def start_raw_w3(done_key):
    sleep_link.delay(W3_LENGTH, W3_SLEEP, done_key)


def start_raw_fan(done_key):
    for _ in range(FAN_WIDTH):
        fan_out_leaf.delay(FAN_WIDTH, f"{done_key}:count", done_key)


def raw_runs(start, count):
    """Seconds from starting `count` raw runs at once to the last one's report."""
    keys = [f"bench:done:{uuid.uuid4().hex}" for _ in range(count)]
    deadline = time.monotonic() + RUN_TIMEOUT
    started = time.perf_counter()
    for key in keys:
        start(key)
    for key in keys:
        if client().blpop(key, timeout=max(1, int(deadline - time.monotonic()))) is None:
            raise SystemExit(f"raw Celery: a run of {start.__name__} did not finish in {RUN_TIMEOUT} s")
    elapsed = time.perf_counter() - started
    client().delete(*(f"{key}:count" for key in keys))  # the join counters; the done lists are empty
    return elapsed


# --- oaweb runs ---------------------------------------------------------------


def wait_all(run_ids):
    deadline = time.monotonic() + RUN_TIMEOUT
    pending = set(run_ids)
    while pending and time.monotonic() < deadline:
        pending -= set(Run.objects.filter(pk__in=pending, status__in=FINAL).values_list("pk", flat=True))
        if pending:
            time.sleep(POLL)
    failed = Run.objects.filter(pk__in=run_ids, status__in=FINAL).exclude(status="succeeded")
    if pending or failed.exists():
        example = failed.first()
        detail = f"; run {example.pk} {example.status}: {example.error[:300]}" if example else ""
        raise SystemExit(f"oaweb: {len(pending)} of {len(run_ids)} runs unfinished, {failed.count()} failed{detail}")


def oaweb_runs(version, count):
    """Seconds from the first run's creation to the last one's finish, read from the runs' rows."""
    run_ids = [start_run(version, {}).pk for _ in range(count)]
    wait_all(run_ids)
    span = Run.objects.filter(pk__in=run_ids).aggregate(first=Min("created"), last=Max("finished"))
    return (span["last"] - span["first"]).total_seconds()


def taking_turns(raw_start, version, times, count=1):
    """`times` raw and `times` oaweb measurements, alternating so that both see the same machine."""
    raw, oaweb = [], []
    for _ in range(times):
        raw.append(raw_runs(raw_start, count))
        oaweb.append(oaweb_runs(version, count))
    return raw, oaweb


# --- memory -------------------------------------------------------------------


def reset_peak_rss(pid):
    """Start a new high-water mark: writing 5 to clear_refs sets VmHWM to the current RSS (Linux 4.0+)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False  # then VmHWM is the peak since the process started: an upper bound


def peak_rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


# --- one round ------------------------------------------------------------------


def pair(raw, oaweb):
    return {"raw": raw, "oaweb": oaweb, "ratio": oaweb / raw}


def peak_rss_during(action, worker_pids):
    """`action()`'s result, and the peak RSS in MB of this process and of the largest worker meanwhile."""
    reset = all([reset_peak_rss(pid) for pid in (os.getpid(), *worker_pids)])
    result = action()
    bench, worker = peak_rss_mb(os.getpid()), max(peak_rss_mb(pid) for pid in worker_pids)
    return result, {"bench": bench, "worker": worker, "oaweb": bench + worker, "reset": reset}


def settle():
    """Count the finished runs into the rollups here, then pause: a worker's heartbeat doing it for the
    previous round's 1,000-item maps would otherwise run inside the next measurements (W1 first)."""
    rollups.add_pending()
    time.sleep(SETTLE_SECONDS)


def measure_round(args, shapes, worker_pids, dag_bound):
    settle()
    figures = {}
    for name, raw_start in (("w1", start_raw_w1), ("w2", start_raw_w2), ("w3", start_raw_w3)):
        raw, oaweb = taking_turns(raw_start, shapes[name], args.repeat)
        figures[f"{name}_p50"] = pair(statistics.median(raw) * 1000, statistics.median(oaweb) * 1000)
        raw_burst = raw_runs(raw_start, args.burst)
        if name == "w1":
            # This process plays the web process here: it starts the runs.
            oaweb_burst, figures["rss"] = peak_rss_during(lambda: oaweb_runs(shapes["w1"], args.burst), worker_pids)
            figures["w1_sps"] = pair(args.burst * W1_LENGTH / raw_burst, args.burst * W1_LENGTH / oaweb_burst)
        else:
            oaweb_burst = oaweb_runs(shapes[name], args.burst)
        figures[f"{name}_rpm"] = pair(args.burst / raw_burst * 60, args.burst / oaweb_burst * 60)

    fan_times = max(3, args.repeat // 4)
    raw, oaweb = taking_turns(start_raw_fan, shapes["fan"], fan_times)
    # raw: 100 tasks + the join; oaweb: the start step, 100 steps and the join.
    figures["fan_sps"] = pair((FAN_WIDTH + 1) / statistics.median(raw), (FAN_WIDTH + 2) / statistics.median(oaweb))

    makespan = statistics.median(oaweb_runs(shapes["dag"], 1) for _ in range(fan_times)) * 1000
    figures["dag"] = {"oaweb": makespan, "bound": dag_bound, "ratio": makespan / dag_bound}
    figures["sub"] = sub_workflow_overhead(shapes, args.repeat, figures["w1_p50"]["oaweb"] / W1_LENGTH)
    figures["map"] = map_against_fan(shapes, fan_times)
    return figures


def map_against_fan(shapes, times):
    """Median run times of the 1,000-item map and of the static 1,000-wide fan-out, taking turns."""
    fan, mapped = [], []
    for _ in range(times):
        fan.append(oaweb_runs(shapes["wide_fan"], 1) * 1000)
        mapped.append(oaweb_runs(shapes["map"], 1) * 1000)
    fan_ms, map_ms = statistics.median(fan), statistics.median(mapped)
    return {"fan": fan_ms, "map": map_ms, "ratio": map_ms / fan_ms}


def sub_workflow_overhead(shapes, repeat, step_ms):
    """What each level of sub-workflows adds (p50s of a one-step run and of one 3 levels above it), per step's."""
    base = statistics.median(oaweb_runs(shapes["sub0"], 1) for _ in range(repeat)) * 1000
    chain = statistics.median(oaweb_runs(shapes[f"sub{SUB_LEVELS}"], 1) for _ in range(repeat)) * 1000
    per_level = (chain - base) / SUB_LEVELS
    return {"base": base, "chain": chain, "per_level": per_level, "step": step_ms, "ratio": per_level / step_ms}


def medians(rounds):
    """Each figure's median over the rounds (a ratio's too: the median of the rounds' ratios)."""
    return {
        measure: {field: statistics.median(r[measure][field] for r in rounds) for field in rounds[0][measure]}
        for measure in rounds[0]
    }


# --- report ---------------------------------------------------------------------


def verdict(ok):
    return "holds" if ok else "MISSES"


def print_table(figures, args, dag):
    slots = args.workers * args.concurrency
    print(
        f"{args.workers} worker(s) x threads({args.concurrency}) = {slots} slots; median of {args.rounds} round(s); "
        f"p50 of {args.repeat} sequential runs; bursts of {args.burst} runs started at once"
    )
    if args.burst != 100:
        print("(n8n's runs/min are for bursts of 100)")
    header = f"{'measure':<40}{'raw Celery':>12}{'oaweb':>10}{'oaweb/raw':>11}{'n8n regular':>13}{'n8n queue':>11}"
    print(header)
    print("-" * len(header))
    rows = [
        ("w1_p50", "W1 10 x noop chain, p50 ms/run", "w1", 0),
        ("w1_rpm", "W1 burst, runs/min", "w1", 1),
        ("w1_sps", "W1 burst (concurrent linear), steps/s", None, None),
        ("w2_p50", "W2 1 + 50 parallel + join, p50 ms/run", "w2", 0),
        ("w2_rpm", "W2 burst, runs/min", "w2", 1),
        ("w3_p50", "W3 5 x sleep 100 ms, p50 ms/run", "w3", 0),
        ("w3_rpm", "W3 burst, runs/min", "w3", 1),
        ("fan_sps", "fan-out 100 + join, steps/s", None, None),
    ]
    for measure, label, n8n, column in rows:
        figure = figures[measure]
        digits = 1 if measure.endswith("p50") else 0
        n8n_cells = f"{N8N[n8n]['regular'][column]:>13,}{N8N[n8n]['queue'][column]:>11,}" if n8n else ""
        print(
            f"{label:<40}{figure['raw']:>12,.{digits}f}{figure['oaweb']:>10,.{digits}f}"
            f"{figure['ratio']:>11.2f}{n8n_cells}"
        )

    critical, work = scientific.critical_path_ms(dag), scientific.total_work_ms(dag)
    low, high = scientific.SLEEP_MS
    print()
    print(f"scientific DAG, seed {scientific.SEED}, core.sleep {low}-{high} ms per step:")
    print(f"  {scientific.describe(dag)}")
    print(
        f"  bound {figures['dag']['bound']:,.0f} ms = max(critical path {critical:,} ms, "
        f"total sleep {work:,} ms / {slots} slots = {work / slots:,.0f} ms)"
    )
    print(
        f"  makespan {figures['dag']['oaweb']:,.0f} ms = {figures['dag']['ratio']:.2f} x bound "
        f"(median of {max(3, args.repeat // 4)} runs a round)"
    )
    sub = figures["sub"]
    print(
        f"sub-workflows: a one-step run {sub['base']:.1f} ms, the same {SUB_LEVELS} levels down "
        f"{sub['chain']:.1f} ms (p50s): {sub['per_level']:.1f} ms a level, a W1 step {sub['step']:.1f} ms"
    )
    mapped = figures["map"]
    print(
        f"map of {MAP_WIDTH:,} core.noop items: {mapped['map']:,.0f} ms a run; the same as a static "
        f"fan-out + join: {mapped['fan']:,.0f} ms (medians)"
    )
    rss = figures["rss"]
    since = "" if rss["reset"] else " (peaks since each process started: clear_refs was refused)"
    print(
        f"peak RSS during the W1 burst: bench {rss['bench']:.0f} MB + worker {rss['worker']:.0f} MB "
        f"= {rss['oaweb']:.0f} MB (target {RSS_TARGET_MB} MB){since}"
    )


def print_targets(figures, args):
    must = [
        ("W1 p50 / raw Celery 10-chain p50", figures["w1_p50"]["ratio"], "<=", 1.2, "x"),
        ("W2 p50 / raw W2 p50", figures["w2_p50"]["ratio"], "<=", 1.2, "x"),
        ("fan-out 100 + join steps/s / raw", figures["fan_sps"]["ratio"], ">=", 0.8, "x"),
        (f"W1 burst of {args.burst} runs/min / raw chains", figures["w1_rpm"]["ratio"], ">=", 0.8, "x"),
        ("scientific DAG makespan / bound", figures["dag"]["ratio"], "<=", 1.25, "x"),
        ("peak RSS, bench + one worker", figures["rss"]["oaweb"], "<=", RSS_TARGET_MB, "MB"),
        ("a sub-workflow level / a W1 step (issue 19)", figures["sub"]["ratio"], "<=", 2.0, "x"),
        (f"map of {MAP_WIDTH:,} / static fan-out (issue 19)", figures["map"]["ratio"], "<=", 1.3, "x"),
    ]
    aim = [
        (f"{name.upper()} p50 below n8n regular's", figures[f"{name}_p50"]["oaweb"], "<", N8N[name]["regular"][0], "ms")
        for name in ("w1", "w2", "w3")
    ]
    for title, lines in ((f"Must hold (medians of {args.rounds} round(s))", must), ("Aim", aim)):
        print()
        print(f"{title:<44}{'measured':>12}{'target':>14}")
        for label, value, op, target, unit in lines:
            ok = {"<=": value <= target, ">=": value >= target, "<": value < target}[op]
            measured = f"{value:.{UNIT_DIGITS[unit]}f} {unit}"
            print(f"  {label:<42}{measured:>12}{f'{op} {target:g} {unit}':>14}  {verdict(ok)}")


# --- main -----------------------------------------------------------------------


def start_workers(args):
    # The product's own heartbeat, lease and reaper intervals (tests/workers.py
    # shortens them so that the recovery tests run in seconds).
    production_intervals = {name: str(getattr(settings, name)) for name in MAINTENANCE_SETTINGS}
    pool = WorkerPool(database_url=os.environ.get("DATABASE_URL"), extra_env=production_intervals)
    for n in range(args.workers):
        pool.start(f"bench{n}", queues="default", concurrency=args.concurrency)
    return pool


def warm_up(shapes):
    """One of each, both ways: imports, connections, compiled plans and caches before the clock runs."""
    for name, raw_start in (("w1", start_raw_w1), ("w2", start_raw_w2), ("w3", start_raw_w3), ("fan", start_raw_fan)):
        taking_turns(raw_start, shapes[name], 2 if name == "w1" else 1)
    oaweb_runs(shapes["dag"], 1)
    map_against_fan(shapes, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=20, help="sequential runs of each shape (default 20)")
    parser.add_argument("--burst", type=int, default=100, help="runs started at once (default 100)")
    parser.add_argument("--rounds", type=int, default=3, help="whole measurements; the medians are printed")
    args = parser.parse_args()
    if settings.EMBEDDED or "postgres" not in settings.DATABASES["default"]["ENGINE"]:
        raise SystemExit("set REDIS_URL and a PostgreSQL DATABASE_URL (see the docstring)")

    call_command("migrate", verbosity=0)
    call_command("sync_components", verbosity=0, stdout=io.StringIO())
    dag = scientific.generate()
    scientific.check(dag)
    slots = args.workers * args.concurrency
    dag_bound = max(scientific.critical_path_ms(dag), scientific.total_work_ms(dag) / slots)
    shapes = import_shapes(dag)
    leftover = Run.objects.exclude(status__in=FINAL).count()
    if leftover:
        print(f"note: {leftover} unfinished runs left by an earlier benchmark may compete", file=sys.stderr)

    pool = start_workers(args)
    worker_pids = [worker.pid for worker in pool.workers.values()]
    rounds = []
    try:
        warm_up(shapes)
        for number in range(1, args.rounds + 1):
            started = time.monotonic()
            rounds.append(measure_round(args, shapes, worker_pids, dag_bound))
            print(f"round {number}/{args.rounds}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    finally:
        pool.stop_all()
    figures = medians(rounds)
    print_table(figures, args, dag)
    print_targets(figures, args)


if __name__ == "__main__":
    main()
