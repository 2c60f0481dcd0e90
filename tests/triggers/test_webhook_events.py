"""A webhook's token also posts events to its workflow's runs: POST /hooks/<token>/runs/<id>/events/<name>/."""

import pytest

from tests.execution.test_waits import waiting
from workflows.execution.models import Run
from workflows.execution.runs import cancel_run, start_run, wait_for_run
from workflows.models import Workflow
from workflows.triggers.models import WebhookTrigger

pytestmark = [pytest.mark.slow]


@pytest.fixture(autouse=True)
def clear_cache():
    from django.core.cache import cache

    cache.clear()


def waiting_for_payment(team, slug="pay"):
    steps = [
        {"id": "paid", "component": "core.wait_for_event", "inputs": {"event": "paid"}},
        {"id": "after", "component": "core.noop", "inputs": {"amount": "{{ steps.paid.outputs.payload.amount }}"}},
    ]
    version, _ = Workflow.import_definition({"id": slug, "steps": steps}, team=team)
    return version


def test_an_event_posted_to_the_webhook_ends_the_wait(workers, client, team, owner):
    version = waiting_for_payment(team)
    trigger, token = WebhookTrigger.create(version.workflow, user=owner)
    run = start_run(version, {})
    waiting(run, "paid")
    url = f"/hooks/{token}/runs/{run.pk}/events/paid/"
    response = client.post(url, {"amount": 42}, content_type="application/json")
    assert response.status_code == 202, response.content
    assert response.json() == {"run": run.pk, "event": "paid", "delivered": 1, "kept": False}
    run = wait_for_run(run, timeout=30)
    assert run.status == "succeeded", run.error
    assert run.steps.get(step_id="after").inputs == {"amount": 42}
    trigger.refresh_from_db()
    assert trigger.last_used is not None
    assert client.post(url, {"amount": 1}, content_type="application/json").status_code == 409  # it has ended


def test_the_token_reaches_only_its_own_workflows_runs(workers, client, team, owner):
    _, token = WebhookTrigger.create(waiting_for_payment(team).workflow, user=owner)
    other = start_run(waiting_for_payment(team, slug="other"), {})
    waiting(other, "paid")
    response = client.post(f"/hooks/{token}/runs/{other.pk}/events/paid/", {}, content_type="application/json")
    assert response.status_code == 404
    assert (
        client.post(f"/hooks/owh_wrong/runs/{other.pk}/events/paid/", {}, content_type="application/json").status_code
        == 404
    )
    assert Run.objects.get(pk=other.pk).status == "running"
    cancel_run(other)
