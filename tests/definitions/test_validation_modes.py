"""Modes (normal, strict) and the result cache."""

import pytest

from registry import lookup
from registry.models import Component
from tests.definitions.validation_fakes import COMPONENTS, step, workflow
from workflows.definitions import validation
from workflows.definitions.validation import validate, validate_source

WARNS = workflow(step("t", "text.template", inputs={"template": "x", "extra": 1}))


def test_normal_mode_fails_only_on_errors():
    result = validate(WARNS, components=COMPONENTS)
    assert result["valid"] is True
    assert [issue["severity"] for issue in result["issues"]] == ["warning"]


def test_strict_mode_fails_on_warnings_too():
    result = validate(WARNS, mode="strict", components=COMPONENTS)
    assert result["valid"] is False
    assert validate_source(b"{", mode="strict")["valid"] is False


def test_errors_fail_both_modes():
    broken = workflow(step("a", "nope"))
    assert validate(broken, components=COMPONENTS)["valid"] is False
    assert validate(broken, mode="strict", components=COMPONENTS)["valid"] is False


@pytest.fixture
def registry(db, django_capture_on_commit_callbacks):
    """The real registry with one component, and a clean result cache."""
    validation.clear_cache()
    with django_capture_on_commit_callbacks(execute=True):
        Component.objects.create(
            name="demo.echo",
            version="1.0.0",
            input_schema={"type": "object", "properties": {"x": {"type": "string"}}, "additionalProperties": False},
            output_schema={"type": "object"},
            entrypoint="tests.fake:echo",
        )
    yield
    validation.clear_cache()


@pytest.fixture
def count_checks(monkeypatch):
    calls = []
    real = validation._Checker

    def counting(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(validation, "_Checker", counting)
    return calls


def test_identical_definitions_are_validated_once(registry, count_checks):
    definition = workflow(step("a", "demo.echo", inputs={"x": "hi", "y": 1}))
    first = validate(definition)
    second = validate({**definition})  # equal content, another object
    assert first == second
    assert first["issues"][0]["code"] == "unknown_input"
    assert len(count_checks) == 1
    # A different mode is its own entry.
    assert validate(definition, mode="strict")["valid"] is False
    assert len(count_checks) == 2


def test_callers_cannot_poison_the_cache(registry):
    definition = workflow(step("a", "demo.echo", inputs={"y": 1}))
    first = validate(definition)
    first["issues"][0]["message"] = "tampered"
    first["issues"].clear()
    again = validate(definition)
    assert again["issues"][0]["code"] == "unknown_input"
    assert again["issues"][0]["message"] != "tampered"


def test_a_registry_change_invalidates_cached_results(registry, django_capture_on_commit_callbacks):
    definition = workflow(step("a", "demo.echo"))
    generation = lookup.generation()
    assert validate(definition)["valid"] is True
    with django_capture_on_commit_callbacks(execute=True):
        Component.objects.get(name="demo.echo").delete()
    assert lookup.generation() > generation
    result = validate(definition)
    assert result["valid"] is False
    assert result["issues"][0]["code"] == "unknown_component"


def test_disabling_a_component_in_the_registry(registry, django_capture_on_commit_callbacks):
    definition = workflow(step("a", "demo.echo"))
    assert validate(definition)["valid"] is True
    row = Component.objects.get(name="demo.echo")
    row.enabled = False
    with django_capture_on_commit_callbacks(execute=True):
        row.save()
    assert [issue["code"] for issue in validate(definition)["issues"]] == ["disabled_component"]


def test_explicit_components_are_not_cached(count_checks):
    validate(WARNS, components=COMPONENTS)
    validate(WARNS, components=COMPONENTS)
    assert len(count_checks) == 2


def test_the_cache_is_bounded(registry, monkeypatch):
    monkeypatch.setattr(validation, "CACHE_SIZE", 3)
    for number in range(5):
        validate(workflow(step(f"s{number}", "demo.echo")))
    assert len(validation._cache) == 3


def test_values_that_are_not_json_are_validated_but_not_cached(registry, count_checks):
    definition = workflow(step("a", "demo.echo", inputs={"x": {1, 2}}))
    validate(definition)
    validate(definition)
    assert len(count_checks) == 2
