"""A POST to a webhook's URL starts a run of its workflow with the JSON body as inputs."""

import pytest

from workflows.execution.models import Run
from workflows.execution.runs import wait_for_run
from workflows.tokens import digest
from workflows.triggers.models import WebhookTrigger


@pytest.fixture(autouse=True)
def clear_cache():
    from django.core.cache import cache

    cache.clear()


def test_valid_token_starts_a_run_with_the_body_as_inputs(workers, client, make_workflow, owner):
    workflow = make_workflow()
    trigger, token = WebhookTrigger.create(workflow, user=owner)

    response = client.post(f"/hooks/{token}/", {"greeting": "from a hook"}, content_type="application/json")

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["workflow"] == workflow.slug
    run = wait_for_run(Run.objects.get(pk=body["run"]), timeout=60)
    assert run.status == "succeeded", run.error
    assert run.trigger == "webhook"
    assert run.inputs == {"greeting": "from a hook"}
    assert run.outputs == {"value": "from a hook"}
    assert run.created_by == owner
    trigger.refresh_from_db()
    assert trigger.last_used is not None


def test_an_empty_body_runs_with_default_inputs(workers, client, make_workflow):
    _, token = WebhookTrigger.create(make_workflow())
    response = client.post(f"/hooks/{token}/", b"", content_type="application/json")
    assert response.status_code == 202, response.content
    run = wait_for_run(Run.objects.get(pk=response.json()["run"]), timeout=60)
    assert run.inputs == {"greeting": "hi"}


def test_only_the_hash_and_a_prefix_of_the_token_are_stored(db, make_workflow):
    trigger, token = WebhookTrigger.create(make_workflow())
    trigger.refresh_from_db()
    assert trigger.token_hash == digest(token)
    assert token.startswith(trigger.token_prefix)
    assert len(trigger.token_prefix) < len(token) // 3
    stored = [str(value) for value in WebhookTrigger.objects.values_list(flat=False).get()]
    assert token not in stored


def test_rotation_invalidates_the_old_token(db, client, make_workflow):
    trigger, old = WebhookTrigger.create(make_workflow())

    new = trigger.rotate()

    assert new != old
    assert client.post(f"/hooks/{old}/", {}, content_type="application/json").status_code == 404
    assert WebhookTrigger.for_token(new) == trigger
    assert not Run.objects.exists()


def test_inputs_that_do_not_fit_get_400_and_start_nothing(db, client, make_workflow):
    _, token = WebhookTrigger.create(make_workflow())
    response = client.post(f"/hooks/{token}/", {"greeting": 42}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_inputs"
    assert response.json()["issues"][0]["path"] == "/inputs/greeting"
    assert not Run.objects.exists()
