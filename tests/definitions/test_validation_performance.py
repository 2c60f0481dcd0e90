"""The validator's shape of work (not its timing: bench/validation.py prints that)."""

import pytest

from tests.definitions.validation_fakes import COMPONENTS, codes, step, workflow
from workflows.definitions import validation
from workflows.definitions.validation import validate


def chain(size, reverse=False):
    steps = [step("s0", "text.template", inputs={"template": "x"})]
    steps += [
        step(f"s{i}", "text.template", inputs={"template": f"{{{{ steps.s{i - 1}.outputs.text }}}}"})
        for i in range(1, size)
    ]
    if reverse:
        steps.reverse()
    return workflow(*steps)


@pytest.mark.parametrize("reverse", [False, True])
def test_a_long_chain_validates_without_recursion(reverse):
    assert validate(chain(20_000, reverse), components=COMPONENTS) == {"valid": True, "issues": []}


def test_jsonschema_runs_only_when_the_fast_check_fails(monkeypatch):
    calls = []
    real = validation._FORMAT_VALIDATOR

    class Spy:
        def iter_errors(self, instance):
            calls.append(instance)
            return real.iter_errors(instance)

    monkeypatch.setattr(validation, "_FORMAT_VALIDATOR", Spy())
    validate(chain(50), components=COMPONENTS)
    assert calls == []
    validate(workflow(step("a", bogus=1)), components=COMPONENTS)
    assert len(calls) == 1


def test_the_cycle_search_is_skipped_when_steps_are_in_run_order(monkeypatch):
    calls = []
    real = validation.find_index_cycles
    monkeypatch.setattr(validation, "find_index_cycles", lambda parents: calls.append(parents) or real(parents))
    validate(chain(100), components=COMPONENTS)
    assert calls == []
    validate(chain(100, reverse=True), components=COMPONENTS)
    assert len(calls) == 1 and len(calls[0]) == 100


def test_suggestions_are_bounded_on_a_badly_broken_definition(monkeypatch):
    calls = []
    real = validation._did_you_mean
    monkeypatch.setattr(validation, "_did_you_mean", lambda *args: calls.append(args) or real(*args))
    steps = [step(f"s{i}", inputs={"v": f"{{{{ steps.missing{i}.outputs.x }}}}"}) for i in range(1_000)]
    result = validate(workflow(*steps), components=COMPONENTS)
    assert codes(result) == ["unknown_reference"] * 1_000
    assert len(calls) == validation.SUGGESTION_BUDGET


def test_each_component_schema_is_read_once_per_validation(monkeypatch):
    built = []
    real = validation._Contract

    def counting(info):
        built.append(info.name)
        return real(info)

    monkeypatch.setattr(validation, "_Contract", counting)
    validate(chain(500), components=COMPONENTS)
    assert built == ["text.template"]
