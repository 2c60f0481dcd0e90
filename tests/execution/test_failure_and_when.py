"""A failing step skips its descendants and fails the run; `when` skips a branch."""

from tests.conftest import run_definition


def test_failed_step_skips_descendants_and_fails_the_run(workers):
    definition = {
        "id": "breaks",
        "steps": [
            {"id": "ok", "component": "core.noop", "inputs": {}},
            {"id": "bad", "component": "test.raise", "inputs": {"message": "nope"}},
            {"id": "after_bad", "component": "core.noop", "inputs": {"v": "{{ steps.bad.outputs.x }}"}},
            {"id": "later", "component": "core.noop", "inputs": {}, "depends_on": ["after_bad"]},
            {"id": "independent", "component": "core.noop", "inputs": {}, "depends_on": ["ok"]},
        ],
    }
    run = run_definition(definition)

    statuses = dict(run.steps.values_list("step_id", "status"))
    assert run.status == "failed"
    assert statuses == {
        "ok": "succeeded",
        "bad": "failed",
        "after_bad": "skipped",
        "later": "skipped",
        "independent": "succeeded",
    }
    assert "nope" in run.steps.get(step_id="bad").error
    assert "bad" in run.error


def test_false_when_skips_the_step_and_its_descendants(workers):
    definition = {
        "id": "branching",
        "inputs": {"mode": {"type": "string"}},
        "steps": [
            {"id": "check", "component": "core.noop", "inputs": {"mode": "{{ inputs.mode }}"}},
            {"id": "fast", "component": "core.noop", "inputs": {}, "when": "{{ steps.check.outputs.mode }} == 'fast'"},
            {"id": "after_fast", "component": "core.noop", "inputs": {}, "depends_on": ["fast"]},
            {"id": "slow", "component": "core.noop", "inputs": {}, "when": "steps.check.outputs.mode != 'fast'"},
        ],
        "outputs": {"fast": "{{ steps.fast.outputs.mode }}"},
    }
    run = run_definition(definition, {"mode": "slow"})

    statuses = dict(run.steps.values_list("step_id", "status"))
    assert run.status == "succeeded"
    assert statuses == {"check": "succeeded", "fast": "skipped", "after_fast": "skipped", "slow": "succeeded"}
    assert run.outputs == {"fast": None}


def test_run_finishes_when_a_joins_last_parent_succeeds_after_another_was_skipped(workers):
    definition = {
        "id": "late-parent",
        "steps": [
            {"id": "skipped", "component": "core.noop", "when": "false"},
            {"id": "slow", "component": "core.sleep", "inputs": {"seconds": 0.3}},
            {"id": "join", "component": "core.noop", "depends_on": ["skipped", "slow"]},
        ],
    }
    run = run_definition(definition, timeout=20)

    assert run.status == "succeeded"
    assert dict(run.steps.values_list("step_id", "status")) == {
        "skipped": "skipped",
        "slow": "succeeded",
        "join": "skipped",
    }


def test_an_unparsable_when_stored_without_validation_fails_its_step_clearly(workers):
    from workflows.execution.runs import start_run, wait_for_run
    from workflows.models import Team, Workflow

    definition = {"id": "bad-when", "steps": [{"id": "s", "component": "core.noop", "when": "(( inputs.x"}]}
    version, _ = Workflow.import_definition(definition, team=Team.default())  # the model doesn't validate

    run = wait_for_run(start_run(version), timeout=20)

    step = run.steps.get()
    assert run.status == "failed" and step.status == "failed"
    assert step.error.startswith("when:")
