"""Runs started, cancelled and re-run from the Django admin complete like any other."""

from django.urls import reverse

from tests.conftest import make_user
from workflows.execution.models import Run
from workflows.execution.runs import wait_for_run
from workflows.models import Team, Workflow


def test_admin_action_starts_a_run_that_completes(client, workers):
    staff = make_user("ops", is_staff=True, is_superuser=True)
    workflow = Workflow.import_definition(
        {"id": "clicked", "steps": [{"id": "s", "component": "core.noop", "inputs": {"a": 1}}]}, Team.default()
    )[0].workflow
    client.force_login(staff)

    response = client.post(
        reverse("admin:workflows_workflow_changelist"),
        {"action": "start_runs", "_selected_action": [workflow.pk]},
        follow=True,
    )

    assert response.status_code == 200
    run = wait_for_run(Run.objects.get(workflow=workflow))
    assert run.status == "succeeded"
    assert run.created_by == staff


def test_admin_actions_cancel_and_rerun(client, workers):
    staff = make_user("ops", is_staff=True, is_superuser=True)
    version, _ = Workflow.import_definition(
        {"id": "slow", "steps": [{"id": "s", "component": "core.sleep", "inputs": {"seconds": 0.5}}]}, Team.default()
    )
    from workflows.execution.runs import start_run

    run = start_run(version)
    client.force_login(staff)
    changelist = reverse("admin:workflows_run_changelist")

    client.post(changelist, {"action": "cancel_runs", "_selected_action": [run.pk]})
    run.refresh_from_db()
    assert run.status == "cancelled"

    client.post(changelist, {"action": "rerun_runs", "_selected_action": [run.pk]})
    again = wait_for_run(Run.objects.get(rerun_of=run))
    assert again.status == "succeeded"
