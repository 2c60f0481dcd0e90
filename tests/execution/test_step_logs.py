"""Step logs: context.log and Python's logging in a component, kept per attempt, bounded, redacted, pushed live.

The first tests drive workflows/execution/step_logs.py by hand; the others
run steps on whatever executes them in this mode (`workers`: runworker
processes on PostgreSQL and Redis, or the embedded worker).
"""

import logging
import threading
import time
from itertools import pairwise

import pytest
from django.test import override_settings

from registry.context import StepContext
from tests.conftest import run_definition, wait_until
from workflows.execution import events, step_logs
from workflows.execution.models import StepAttempt
from workflows.execution.runs import cancel_run, start_run, wait_for_run
from workflows.models import Team, Workflow

TOKEN = "oat_abcdefghijklmnopqrstuvwxyz0123"
SHORTENED = "oat_abcdefgh***"
BOUND = 1024 * 1024  # OAWEB_STEP_LOG_BYTES's default


@pytest.fixture
def published(monkeypatch):
    """The StepLogEvents the step path publishes, with the time each was published."""
    sent = []
    monkeypatch.setattr(events, "publish", lambda event: sent.append((time.monotonic(), event)))
    return sent


def context(step_id="s", attempt=1) -> StepContext:
    return StepContext(run_id=7, step_id=step_id, attempt=attempt)


def in_call_thread(step: StepContext, function) -> None:
    """Run `function` as a component runs: in a thread attached to its attempt."""

    def call():
        step_logs.attach(step)
        try:
            function()
        finally:
            step_logs.detach()

    thread = threading.Thread(target=call)
    thread.start()
    thread.join(10)


# --- the buffer, by hand ----------------------------------------------------------------


def test_a_step_that_logs_nothing_has_no_buffer_and_publishes_nothing(published):
    step = context()
    in_call_thread(step, lambda: None)

    assert step.log_buffer is None
    assert step_logs.close(step) == ""
    assert published == []


def test_context_log_and_logging_in_the_call_thread_land_in_the_attempt_in_order(published):
    step = context()

    def component():
        step.log("one", 2)
        logging.getLogger("acme.component").info("two %s", "args")
        step.log("three\nfour")

    in_call_thread(step, component)
    text = step_logs.close(step)

    assert text.split("\n") == ["one 2", "INFO acme.component: two args", "three", "four"]
    lines = [line for _, event in published for line in event.lines]
    assert lines == text.split("\n")  # the same lines went live
    assert {(event.run, event.step, event.attempt) for _, event in published} == {(7, "s", 1)}


def test_records_of_threads_without_an_attempt_are_not_captured(published):
    step = context()
    release = threading.Event()

    def component():
        step.log("mine")
        release.wait(5)

    def worker_logs():  # the worker's own logs, while the component runs
        logging.getLogger("workflows.execution.runner").warning("not the step's")
        release.set()

    runner = threading.Thread(target=in_call_thread, args=(step, component))
    runner.start()
    worker_logs()
    runner.join(10)
    logging.getLogger("acme.component").warning("after the call: not the step's either")

    assert step_logs.close(step) == "mine"


def test_lines_are_redacted_and_made_storable():
    step = context()
    step.log(f"token {TOKEN} and https://user:pw@example.com/x")
    step.log("nul \x00 and a lone surrogate \udc80")

    text = step_logs.close(step)

    assert TOKEN not in text and SHORTENED in text and "user:pw" not in text
    assert "\x00" not in text and "\\x00" in text
    text.encode("utf-8")  # no lone surrogate left: PostgreSQL and SQLite store it


@override_settings(OAWEB_STEP_LOG_BYTES=100)
def test_past_the_bound_lines_are_dropped_and_one_truncated_line_ends_the_log(published):
    step = context()
    for n in range(50):
        step.log(f"line {n:03}")  # 8 bytes and a newline each

    text = step_logs.close(step)
    step.log("after the end")

    lines = text.split("\n")
    assert lines[-1] == step_logs.TRUNCATED and lines.count(step_logs.TRUNCATED) == 1
    assert lines[:-1] == [f"line {n:03}" for n in range(11)]  # 11 x 9 - 1 = 98 bytes fit, a 12th does not
    assert len("\n".join(lines[:-1]).encode()) <= 100
    assert [line for _, event in published for line in event.lines] == lines  # nothing after close


def test_live_batches_come_at_most_every_half_second_and_miss_no_line(published):
    step = context()
    started = time.monotonic()
    n = 0
    while time.monotonic() - started < 1.3:
        step.log(f"line {n}")
        n += 1
        time.sleep(0.01)
    before_close = len(published)
    step_logs.close(step)

    times = [at for at, _ in published[:before_close]]
    assert len(times) >= 2, times  # batches while it runs, not only at the end
    assert all(later - earlier >= step_logs.LIVE_INTERVAL - 0.02 for earlier, later in pairwise(times))
    sent = [event for _, event in published]
    assert [event.first for event in sent] == [sum(len(e.lines) for e in sent[:i]) for i in range(len(sent))]
    assert [line for event in sent for line in event.lines] == [f"line {i}" for i in range(n)]


# --- steps run by workers ---------------------------------------------------------------


def test_lines_are_stored_with_each_attempt(workers):
    definition = {
        "id": "logs",
        "steps": [
            {
                "id": "flaky",
                "component": "test.log",
                "inputs": {
                    "said": ["attempt {attempt}", f"with {TOKEN}"],
                    "logged": ["logged {attempt}"],
                    "fail": True,
                },
                "retry": {"max_attempts": 2, "backoff": "fixed", "delay": 0},
            },
            {"id": "fine", "component": "test.log", "inputs": {"said": ["done"], "logged": ["via logging"]}},
            {"id": "quiet", "component": "core.noop"},
        ],
    }

    run = run_definition(definition)

    assert run.status == "failed"
    flaky = StepAttempt.objects.filter(step_run__run=run, step_run__step_id="flaky").order_by("number")
    assert [(row.number, row.status, row.log.split("\n")) for row in flaky] == [
        (n, "failed", [f"attempt {n}", f"with {SHORTENED}", f"INFO tests.components: logged {n}"]) for n in (1, 2)
    ]
    # Exactly the component's lines: none of the worker's own (it logs at INFO around every task).
    fine = StepAttempt.objects.get(step_run__run=run, step_run__step_id="fine")
    assert (fine.status, fine.log) == ("succeeded", "done\nINFO tests.components: via logging")
    assert StepAttempt.objects.get(step_run__run=run, step_run__step_id="quiet").log == ""


def test_a_log_over_the_bound_is_stored_truncated(workers):
    line = "x" * 999  # 1000 bytes with its newline: 1,048 lines fit in 1 MB
    definition = {
        "id": "chatty",
        "steps": [{"id": "talk", "component": "test.log", "inputs": {"said": [line], "repeat": 1100}}],
    }

    run = run_definition(definition)

    assert run.status == "succeeded", run.error
    lines = StepAttempt.objects.get(step_run__run=run).log.split("\n")
    assert lines[-1] == step_logs.TRUNCATED
    assert lines[:-1] == [line] * (BOUND // 1000)
    assert len("\n".join(lines[:-1]).encode()) <= BOUND


def test_a_cancelled_steps_lines_join_its_cancelled_attempt(workers, tmp_path):
    definition = {
        "id": "cancelled-logs",
        "steps": [
            {"id": "wait", "component": "test.log", "inputs": {"said": ["before"], "wait_for": str(tmp_path / "never")}}
        ],
    }
    version, _ = Workflow.import_definition(definition, team=Team.default())
    run = start_run(version)
    assert wait_until(lambda: run.steps.filter(step_id="wait", status="running").exists(), timeout=30)

    cancel_run(run)
    wait_for_run(run, timeout=10)

    attempt = StepAttempt.objects.filter(step_run__run=run)
    assert wait_until(lambda: attempt.get().log != "", timeout=10)
    assert (attempt.get().status, attempt.get().log) == ("cancelled", "before\nreleased")


def test_a_burst_goes_live_in_batches_small_enough_for_a_socket(published):
    step = context()
    step.log("\n".join("é" * 500 for _ in range(200)))  # 1,001 bytes a line with its newline: 200 KB at once

    step_logs.close(step)

    sent = [event for _, event in published]
    assert len(sent) >= 200 * 1001 // step_logs.MAX_EVENT_BYTES
    assert all(len("\n".join(event.lines).encode()) <= step_logs.MAX_EVENT_BYTES + 1001 for event in sent)
    assert [event.first for event in sent] == [sum(len(e.lines) for e in sent[:i]) for i in range(len(sent))]
    assert sum(len(event.lines) for event in sent) == 200
