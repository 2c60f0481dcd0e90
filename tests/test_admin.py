"""The Django admin: every page loads, versions are read-only, teams stay apart."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from registry.models import Component
from tests.conftest import make_user, noop_definition
from workflows.execution.models import Run, StepAttempt, StepRun
from workflows.models import Team, Workflow, WorkflowVersion

MODELS = [Component, Team, Workflow, WorkflowVersion, Run, StepRun, StepAttempt]


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def make_run(workflow) -> Run:
    """A run with one step and one attempt, as the engine would leave it."""
    run = Run.objects.create(workflow=workflow, version=workflow.latest_version(), inputs={"greeting": "hi"})
    step = StepRun.objects.create(run=run, step_id="s1", component="core.noop", status="succeeded", attempt=1)
    StepAttempt.objects.create(step_run=step, number=1, status="succeeded", started=timezone.now())
    return run


@pytest.fixture
def objects(components, make_workflow):
    """One object of every model, by model."""
    workflow = make_workflow()
    run = make_run(workflow)
    step = run.steps.get()
    return {
        Component: Component.objects.get(name="core.noop"),
        Team: workflow.team,
        Workflow: workflow,
        WorkflowVersion: workflow.latest_version(),
        Run: run,
        StepRun: step,
        StepAttempt: step.attempts.get(),
    }


@pytest.fixture
def team_staff(team):
    """Staff but not superuser, with every admin permission, member of `team` only."""
    user = make_user("teamstaff", team, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["workflows", "registry"]))
    return user


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_changelist_and_change_page_load_for_superuser(client, staff, objects, model):
    client.force_login(staff)
    assert client.get(admin_url(model, "changelist")).status_code == 200
    assert client.get(admin_url(model, "change", objects[model].pk)).status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_anonymous_is_redirected_to_login(client, objects, model):
    url = admin_url(model, "changelist")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_non_staff_user_is_redirected_to_login(client, owner, objects):
    client.force_login(owner)
    response = client.get(admin_url(Workflow, "changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_version_definition_is_shown_pretty_printed(client, staff, objects):
    version = objects[WorkflowVersion]
    client.force_login(staff)
    content = client.get(admin_url(WorkflowVersion, "change", version.pk)).content.decode()
    pretty = escape(json.dumps(version.definition, indent=2, ensure_ascii=False))
    assert f"<pre>{pretty}</pre>" in content


def test_version_definition_is_read_only(client, staff, objects):
    version = objects[WorkflowVersion]
    client.force_login(staff)
    content = client.get(admin_url(WorkflowVersion, "change", version.pk)).content.decode()
    assert 'name="definition"' not in content
    response = client.post(admin_url(WorkflowVersion, "change", version.pk), {"definition": "{}", "version": "9.9.9"})
    assert response.status_code == 403
    version.refresh_from_db()
    assert version.version == "1.0.0"


def test_versions_cannot_be_added_in_admin(client, staff, objects):
    client.force_login(staff)
    assert client.get(admin_url(WorkflowVersion, "add")).status_code == 403


def test_definition_text_is_escaped(client, staff, make_workflow):
    definition = noop_definition("escaped")
    definition["description"] = "<script>alert('x')</script>"
    version = make_workflow(definition).latest_version()
    client.force_login(staff)
    content = client.get(admin_url(WorkflowVersion, "change", version.pk)).content.decode()
    assert "<script>alert(" not in content
    assert "&lt;script&gt;alert(" in content


def test_run_inputs_are_shown_pretty_printed(client, staff, objects):
    client.force_login(staff)
    content = client.get(admin_url(Run, "change", objects[Run].pk)).content.decode()
    assert escape(json.dumps({"greeting": "hi"}, indent=2)) in content


def test_run_shows_its_steps_inline(client, staff, objects):
    client.force_login(staff)
    content = client.get(admin_url(Run, "change", objects[Run].pk)).content.decode()
    assert admin_url(StepRun, "change", objects[StepRun].pk) in content


def test_component_enabled_is_editable_in_the_list(client, staff, objects):
    component = objects[Component]
    client.force_login(staff)
    content = client.get(admin_url(Component, "changelist")).content.decode()
    assert 'name="form-0-enabled"' in content

    response = client.post(
        admin_url(Component, "changelist"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(component.pk),
            # An unchecked checkbox is simply absent: enabled becomes False.
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    component.refresh_from_db()
    assert component.enabled is False


def test_component_schemas_are_read_only(client, staff, objects):
    component = objects[Component]
    client.force_login(staff)
    content = client.get(admin_url(Component, "change", component.pk)).content.decode()
    assert 'name="input_schema"' not in content
    assert 'name="enabled"' in content
    assert f"<pre>{escape(json.dumps(component.input_schema, indent=2))}</pre>" in content


def test_staff_with_admin_permissions_see_every_teams_workflows(client, team_staff, make_workflow, other_team):
    """One ownership rule everywhere (Workflow.objects.visible_to): staff see all."""
    mine = make_workflow(noop_definition("mine"))
    theirs = make_workflow(noop_definition("theirs"), team_=other_team)
    client.force_login(team_staff)
    content = client.get(admin_url(Workflow, "changelist")).content.decode()
    assert admin_url(Workflow, "change", mine.pk) in content
    assert admin_url(Workflow, "change", theirs.pk) in content
