import pytest

from registry.catalog import CATALOG, ComponentError
from registry.context import StepContext
from tests.registry import builtin


def test_fail_fails_the_planned_attempts_then_succeeds():
    fail = builtin("core.fail")

    for attempt in (1, 2):
        with pytest.raises(ComponentError, match=f"attempt {attempt} of 2"):
            fail(times=2, context=StepContext(attempt=attempt))

    assert fail(times=2, context=StepContext(attempt=3)) == {"attempts": 3}


def test_fail_by_default_fails_once_with_planned_failure():
    fail = builtin("core.fail")

    with pytest.raises(ComponentError, match="^planned failure"):
        fail(context=StepContext(attempt=1))
    assert fail(context=StepContext(attempt=2)) == {"attempts": 2}


def test_fail_zero_times_succeeds_at_once():
    assert builtin("core.fail")(times=0, context=StepContext(attempt=1)) == {"attempts": 1}


def test_fail_raises_the_given_message():
    with pytest.raises(ComponentError, match="^flaky upstream"):
        builtin("core.fail")(times=1, message="flaky upstream", context=StepContext(attempt=1))


def test_fail_declares_its_defaults_and_takes_the_context():
    spec = CATALOG["core.fail"]

    assert spec.input_schema["properties"]["times"]["default"] == 1
    assert spec.input_schema["properties"]["message"]["default"] == "planned failure"
    assert spec.wants_context
