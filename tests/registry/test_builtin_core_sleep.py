import threading

import jsonschema
import pytest

from registry.catalog import CATALOG, ComponentError
from registry.context import StepContext
from tests.registry import builtin


def test_sleep_returns_the_time_it_waited():
    result = builtin("core.sleep")(seconds=0, context=StepContext())

    assert set(result) == {"slept"}
    assert result["slept"] >= 0


def test_sleep_without_a_context_still_works():
    assert builtin("core.sleep")(seconds=0)["slept"] >= 0


def test_sleep_ends_at_once_when_the_step_is_already_stopped():
    context = StepContext()
    context.stop.set()

    with pytest.raises(ComponentError, match="stopped"):
        builtin("core.sleep")(seconds=86400, context=context)


def test_sleep_ends_when_stopped_while_waiting():
    context = StepContext()
    errors = []

    def run():
        try:
            builtin("core.sleep")(seconds=3600, context=context)
        except ComponentError as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    context.stop.set()
    thread.join(60)  # a generous bound, not a measurement: an hour's sleep would exceed it

    assert not thread.is_alive()
    assert "stopped" in str(errors[0])


@pytest.mark.parametrize("seconds", [-1, 86401, "5", True, None])
def test_sleep_refuses_seconds_out_of_range_or_not_a_number(seconds):
    with pytest.raises(ComponentError, match="seconds must be a number from 0 to 86400"):
        builtin("core.sleep")(seconds=seconds, context=StepContext())


@pytest.mark.parametrize("inputs", [{"seconds": -1}, {"seconds": 86401}, {}, {"seconds": 1, "extra": 1}])
def test_sleep_schema_refuses_bad_inputs(inputs):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(inputs, CATALOG["core.sleep"].input_schema)


def test_sleep_takes_the_step_context():
    assert CATALOG["core.sleep"].wants_context
