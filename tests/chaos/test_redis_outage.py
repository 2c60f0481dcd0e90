"""Redis stopped for 20 s mid-run: every run finishes and no finished step runs again.

The real Redis serves other processes, so it is never stopped: the workers
under test reach it through a TCP proxy (tests/faults.py) that is cut, which
resets their connections and refuses new ones, as a stopped server does.
The session's general worker is stopped meanwhile: it would keep Redis, and
run the reaper for everybody. The database stays up: steps running at the
cut finish, their successes are recorded, and chains carry on by
continuation; what the workers could not publish waits as `queued` in the
database until the reaper, with Redis back, sends it.
"""

import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from tests.faults import (
    TcpProxy,
    assert_each_success_recorded_once,
    paused,
    purge_queues,
    sleep_chain,
    sleep_fan_out,
    step_counts,
    tail,
)
from workflows.execution.models import StepRun
from workflows.execution.runs import start_run, wait_for_run
from workflows.execution.status import StepStatus
from workflows.models import Team, Workflow

pytestmark = [pytest.mark.distributed, pytest.mark.chaos, pytest.mark.slow]

REDIS_OUTAGE_SECONDS = 20
QUEUE = "chaos-redis"
STEP_SECONDS = 0.75
CHAINS, CHAIN_LENGTH = 4, 10
FAN_OUTS, FAN_WIDTH = 3, 10
RUNNING_AT_CUT = 4  # cut once at least this many steps are running
DONE_AT_CUT = 4  # and this many have finished: they must not run again


def through(url: str, port: int) -> str:
    """The Redis URL with the proxy's port in place of the server's."""
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{auth + '@' if auth else ''}127.0.0.1:{port}"))


def succeeded_steps(runs) -> int:
    return StepRun.objects.filter(run__in=runs, status=StepStatus.SUCCEEDED).count()


def test_runs_finish_once_after_redis_is_gone_for_20_seconds_mid_run(workers, worker_processes):
    purge_queues(QUEUE)
    team = Team.default()
    chain_version, _ = Workflow.import_definition(
        sleep_chain("redis-outage-chain", QUEUE, CHAIN_LENGTH, STEP_SECONDS), team=team
    )
    fan_out_version, _ = Workflow.import_definition(
        sleep_fan_out("redis-outage-fan-out", QUEUE, FAN_WIDTH, STEP_SECONDS), team=team
    )
    redis = urlsplit(settings.REDIS_URL)
    names = ["redis-outage-1", "redis-outage-2"]
    with paused(worker_processes, "general"), TcpProxy((redis.hostname, redis.port or 6379)) as proxy:
        env = {"REDIS_URL": through(settings.REDIS_URL, proxy.port)}
        try:
            outage_workers = [worker_processes.start(name, queues=QUEUE, concurrency=4, env=env) for name in names]
            started = time.monotonic()
            runs = [start_run(chain_version, {}) for _ in range(CHAINS)]
            runs += [start_run(fan_out_version, {}) for _ in range(FAN_OUTS)]
            running = StepRun.objects.filter(run__in=runs, status=StepStatus.RUNNING)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (
                running.count() < RUNNING_AT_CUT or succeeded_steps(runs) < DONE_AT_CUT
            ):
                time.sleep(0.05)
            running_at_cut, done_at_cut = running.count(), succeeded_steps(runs)
            proxy.cut()
            cut_at = time.monotonic()
            time.sleep(REDIS_OUTAGE_SECONDS)
            done_in_outage = succeeded_steps(runs) - done_at_cut
            proxy.restore()
            restored_at = time.monotonic()
            runs = [wait_for_run(run, timeout=120) for run in runs]
            finished_at = time.monotonic()
            alive = [worker.name for worker in outage_workers if worker.process.poll() is None]
            outputs = "\n".join(tail(worker, 40) for worker in outage_workers)
        finally:
            for name in names:
                worker_processes.stop(name)

    counts = step_counts(run.pk for run in runs)
    line = (
        f"redis outage: cut {cut_at - started:.1f} s in with {running_at_cut} steps running and {done_at_cut} done "
        f"({proxy.reset} connections reset, {proxy.accepted} accepted in all), {done_in_outage} steps "
        f"succeeded during the {REDIS_OUTAGE_SECONDS} s outage; the runs done "
        f"{finished_at - restored_at:.1f} s after Redis came back; {counts.summary()}"
    )
    print(line)
    assert running_at_cut >= 1 and done_at_cut >= 1 and proxy.reset > 0, f"the cut did not land mid-run: {line}"
    assert counts.steps == CHAINS * CHAIN_LENGTH + FAN_OUTS * (FAN_WIDTH + 2), line
    assert_each_success_recorded_once(counts, f"{line}\n{outputs}")
    assert counts.extra_attempts == 0, f"finished or running steps ran again: {line}\n{outputs}"
    # The runs can finish with one worker left; a worker that quits when Redis goes away leaves a
    # one-worker deployment with nothing to run them (and exit code 0: no supervisor restarts it).
    assert alive == names, f"workers quit in the outage: {line}\n{outputs}"
