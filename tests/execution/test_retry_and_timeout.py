"""Retries follow the step's policy, every attempt is recorded; timeouts fail a step."""

from tests.conftest import run_definition
from workflows.execution.models import StepAttempt


def test_failing_step_is_retried_with_backoff_and_every_attempt_recorded(workers):
    definition = {
        "id": "flaky",
        "steps": [
            {
                "id": "flaky",
                "component": "core.fail",
                "inputs": {"times": 2},
                "retry": {"max_attempts": 3, "backoff": "exponential", "delay": 0.2, "jitter": False},
            }
        ],
        "outputs": {"attempts": "{{ steps.flaky.outputs.attempts }}"},
    }
    run = run_definition(definition)

    assert run.status == "succeeded", list(run.steps.values_list("attempt", "error"))
    assert run.outputs == {"attempts": 3}
    attempts = list(StepAttempt.objects.filter(step_run__run=run).order_by("number"))
    assert [(a.number, a.status) for a in attempts] == [(1, "failed"), (2, "failed"), (3, "succeeded")]
    assert [a.delay for a in attempts] == [0, 0.2, 0.4]
    # The backoff was really waited: each attempt started after the previous one ended plus its delay.
    for previous, current in zip(attempts, attempts[1:], strict=False):
        assert (current.started - previous.finished).total_seconds() >= current.delay * 0.9


def test_step_fails_after_its_last_attempt(workers):
    definition = {
        "id": "hopeless",
        "steps": [
            {
                "id": "flaky",
                "component": "core.fail",
                "inputs": {"times": 5},
                "retry": {"max_attempts": 2, "backoff": "fixed", "delay": 0.05, "jitter": False},
            }
        ],
    }
    run = run_definition(definition)

    step = run.steps.get()
    assert run.status == "failed"
    assert step.status == "failed" and step.attempt == 2, step.error
    assert StepAttempt.objects.filter(step_run=step, status="failed").count() == 2


def test_step_over_its_timeout_fails_with_a_timeout_error_and_is_retried(workers):
    definition = {
        "id": "slowpoke",
        "steps": [
            {
                "id": "hang",
                "component": "test.hang",
                "inputs": {"seconds": 30},
                "timeout": 0.5,
                "retry": {"max_attempts": 2, "backoff": "fixed", "delay": 0.05, "jitter": False},
            }
        ],
    }
    run = run_definition(definition)

    step = run.steps.get()
    assert run.status == "failed"
    assert "timed out after 0.5 s" in step.error
    assert StepAttempt.objects.filter(step_run=step).count() == 2
