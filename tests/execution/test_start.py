"""Starting a run: inputs checked first, nothing written when it is refused."""

import pytest

from workflows.execution.models import Run, StepRun
from workflows.execution.runs import RunRefused, start_run
from workflows.models import Workflow

DEFINITION = {
    "id": "typed",
    "inputs": {"count": {"type": "integer", "minimum": 1}, "label": {"type": "string", "default": "x"}},
    "steps": [{"id": "s", "component": "core.noop", "inputs": {"n": "{{ inputs.count }}"}}],
}


def test_bad_inputs_refuse_the_run_naming_the_field(components, team):
    version, _ = Workflow.import_definition(DEFINITION, team=team)

    with pytest.raises(RunRefused) as refused:
        start_run(version, {"count": "three"})

    assert "count" in str(refused.value)
    assert Run.objects.count() == 0 and StepRun.objects.count() == 0


def test_missing_required_input_refuses_the_run(components, team):
    version, _ = Workflow.import_definition(DEFINITION, team=team)

    with pytest.raises(RunRefused, match="count"):
        start_run(version, {})


def test_defaults_are_applied_and_the_run_is_pinned_to_its_version(
    components, team, django_capture_on_commit_callbacks
):
    version, _ = Workflow.import_definition(DEFINITION, team=team)
    with django_capture_on_commit_callbacks(execute=False):
        run = start_run(version.workflow, {"count": 2})
    Workflow.import_definition({**DEFINITION, "description": "changed"}, team=team)

    run.refresh_from_db()
    assert run.inputs == {"count": 2, "label": "x"}
    assert run.version == version
    assert list(run.steps.values_list("step_id", "status")) == [("s", "queued")]


def test_a_disabled_component_refuses_the_run(components, team):
    from registry.models import Component

    version, _ = Workflow.import_definition(DEFINITION, team=team)
    Component.objects.filter(name="core.noop").update(enabled=False)
    from registry import lookup

    lookup.invalidate()

    with pytest.raises(RunRefused, match="core.noop"):
        start_run(version, {"count": 1})
    assert Run.objects.count() == 0


def test_unreachable_redis_refuses_the_run_with_nothing_written(components, team, monkeypatch):
    import redis

    from workflows.execution import state

    unreachable = state.RedisRunState(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5))
    monkeypatch.setattr(state, "_store", unreachable)
    version, _ = Workflow.import_definition(DEFINITION, team=team)

    with pytest.raises(state.StateUnavailable, match="Redis is unreachable"):
        start_run(version, {"count": 1})
    assert Run.objects.count() == 0 and StepRun.objects.count() == 0
