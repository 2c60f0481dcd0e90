"""Components are called in reused daemon threads (workflows/execution/call_threads.py)."""

import threading

import pytest

from registry.context import StepContext
from tests.conftest import wait_until
from workflows.execution import call_threads
from workflows.execution.attempts import StepFailure, call_with_timeout


def call(function, timeout=5.0, step=None):
    step = step or StepContext(run_id=1, step_id="s", attempt=1)
    return call_with_timeout(function, {}, step, timeout=timeout, wants_context=False)


def thread_id():
    return {"thread": threading.get_ident()}


def test_a_finished_call_leaves_its_thread_for_the_next():
    first = call(thread_id)["thread"]
    # The thread goes back to the idle list just after the call reports.
    assert wait_until(lambda: call_threads.idle_count() >= 1, timeout=2)
    assert call(thread_id)["thread"] == first != threading.get_ident()


def test_a_hung_call_keeps_its_thread_and_the_next_call_gets_another():
    release = threading.Event()
    hung = {}

    def hang():
        hung["thread"] = threading.get_ident()
        release.wait(10)

    step = StepContext(run_id=1, step_id="s", attempt=1)
    with pytest.raises(StepFailure, match="timed out after 0.2 s"):
        call(hang, timeout=0.2, step=step)
    assert step.stop.is_set()
    assert call(thread_id)["thread"] != hung["thread"]
    release.set()


def test_an_error_in_a_component_is_the_steps_not_the_threads():
    def boom():
        raise ValueError("no")

    with pytest.raises(StepFailure, match="^ValueError: no$"):
        call(boom)
    assert wait_until(lambda: call_threads.idle_count() >= 1, timeout=2)
    assert call(thread_id)["thread"]
