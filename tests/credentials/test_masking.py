"""What an attempt holding a credential masks: its recorded inputs, its outputs, every text redacted meanwhile."""

import gc

from django.db import connection
from django.test.utils import CaptureQueriesContext

from workflows import secret_masks
from workflows.credentials import actions, resolution
from workflows.definitions.spec import StepSpec
from workflows.execution.messages import ClaimedStep
from workflows.redaction import redact

SECRET = "tok-7f3a9c1e-masked"


def claimed_for(run_id=1, version_id=1, step_id="a"):
    return ClaimedStep(
        step_run_id=1, run_id=run_id, step_id=step_id, component="core.noop", attempt=1, queue="default",
        priority=5, worker="w", task_id="", started=None, run_inputs={}, version_id=version_id, version_hash="h",
    )  # fmt: skip


def test_redact_masks_a_held_value_in_every_form_and_lets_go_after_the_grace(monkeypatch):
    monkeypatch.setattr(secret_masks, "GRACE", 0.0)
    monkeypatch.setattr(secret_masks, "PURGE_EVERY", 0.0)

    class Owner:
        pass

    owner = Owner()
    secret_masks.masks.hold(owner, ["p@ss word/+1"])
    line = 'GET /x?k=p%40ss%20word%2F%2B1 {"pw": "p@ss word/+1"} q=p%40ss+word%2F%2B1'

    assert redact(line) == 'GET /x?k=••• {"pw": "•••"} q=•••'
    del owner
    gc.collect()
    redact("")  # the first look notes the owner gone, the next (after the grace) forgets it
    assert redact("p@ss word/+1") == "p@ss word/+1"
    assert secret_masks.masks.held() == 0


def test_short_values_are_not_masked():
    assert secret_masks.forms("abc") == set()


def test_a_step_without_secrets_costs_no_query(db):
    step = StepSpec.parse({"id": "a", "component": "core.noop", "inputs": {"v": "{{ inputs.x }}"}})

    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert resolution.for_step(claimed_for(version_id=99), step) is None
    assert len(queries) == 0


def test_the_secrets_are_the_run_teams_and_shown_masked(team, other_team, make_workflow, settings):
    actions.create(team, "api", "basic", {"username": "svc", "password": SECRET})
    actions.create(other_team, "api", "basic", {"username": "intruder", "password": "other-team-password"})
    workflow = make_workflow()
    run = workflow.runs.create(version=workflow.latest_version(), inputs={})
    step = StepSpec.parse({"id": "a", "component": "core.noop", "inputs": {"c": "{{ secrets.api }}"}})

    secrets = resolution.for_step(claimed_for(run_id=run.pk, version_id=run.version_id), step)

    assert secrets.values == {"api": {"username": "svc", "password": SECRET}}
    assert secrets.shown == {"api": {"username": "svc", "password": "•••"}}
    echoed = {"headers": {"authorization": f"Basic {SECRET}"}, "list": [SECRET, 1]}
    assert secrets.hide(echoed) == {"headers": {"authorization": "Basic •••"}, "list": ["•••", 1]}
    assert SECRET not in redact(f"failed with {SECRET}")
