"""Cancel stops a run; a re-run starts where a failed or cancelled run stopped."""

import time

import pytest

from tests.conftest import run_definition
from workflows.execution.models import Run, StepAttempt
from workflows.execution.runs import RunRefused, cancel_run, rerun, start_run, wait_for_run
from workflows.models import Team, Workflow


def wait_for_step_status(run, step_id, status, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run.steps.filter(step_id=step_id, status=status).exists():
            return
        time.sleep(0.05)
    found = list(run.steps.values_list("step_id", "status", "error"))
    raise AssertionError(f"step {step_id} never reached {status}: {found}")


def test_cancel_stops_running_steps_and_pending_ones_never_start(workers, tmp_path):
    marker = tmp_path / "stopped"
    definition = {
        "id": "long",
        "steps": [
            {"id": "wait", "component": "test.wait_for_stop", "inputs": {"marker": str(marker)}},
            {"id": "after", "component": "core.noop", "depends_on": ["wait"]},
        ],
    }
    version, _ = Workflow.import_definition(definition, team=Team.default())
    run = start_run(version)
    wait_for_step_status(run, "wait", "running")

    assert cancel_run(run) is True
    run = wait_for_run(run, timeout=5)

    assert run.status == "cancelled"
    assert dict(run.steps.values_list("step_id", "status")) == {"wait": "cancelled", "after": "cancelled"}
    assert not StepAttempt.objects.filter(step_run__step_id="after").exists()
    assert cancel_run(run) is False  # already final
    # The running component was told to stop (context.stop), within a heartbeat or two.
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    stopped, waited = marker.read_text().split()
    assert stopped == "True" and float(waited) < 10


def test_rerun_reuses_succeeded_steps_and_runs_the_rest(workers, tmp_path):
    definition = {
        "id": "half",
        "inputs": {"marker": {"type": "string"}},
        "steps": [
            {"id": "first", "component": "test.counter"},
            {
                "id": "flaky",
                "component": "test.fail_first_time",
                "inputs": {"marker": "{{ inputs.marker }}"},
                "depends_on": ["first"],
            },
            {
                "id": "last",
                "component": "core.noop",
                "inputs": {"n": "{{ steps.first.outputs.calls }}"},
                "depends_on": ["flaky"],
            },
        ],
        "outputs": {"n": "{{ steps.last.outputs.n }}"},
    }
    failed = run_definition(definition, {"marker": str(tmp_path / "marker")})
    assert failed.status == "failed"

    again = wait_for_run(rerun(failed))

    assert again.status == "succeeded", again.error
    assert again.rerun_of == failed
    first = again.steps.get(step_id="first")
    assert first.reused_from == failed.steps.get(step_id="first")
    assert not StepAttempt.objects.filter(step_run=first).exists()  # not run again
    assert again.steps.get(step_id="flaky").outputs == {"second_time": True}
    assert again.steps.get(step_id="last").outputs == {"n": failed.steps.get(step_id="first").outputs["calls"]}


def test_only_failed_or_cancelled_runs_can_be_rerun(workers):
    run = run_definition({"id": "fine", "steps": [{"id": "s", "component": "core.noop"}]})

    with pytest.raises(RunRefused):
        rerun(run)
    assert Run.objects.count() == 1
