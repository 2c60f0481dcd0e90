"""Another team's credential is invisible and unusable: not listed, not readable, not referenced, not resolved."""

import pytest

from tests.registry import reply, serve
from workflows import services
from workflows.credentials import actions
from workflows.credentials.models import Credential
from workflows.execution.runs import start_run, wait_for_run
from workflows.models import Workflow

SECRET = "alpha-only-token-9d2c"


def reads_the_secret(url: str) -> dict:
    step = {"id": "call", "component": "http.request", "inputs": {"url": url, "credential": "{{ secrets.api }}"}}
    return {"id": "borrower", "steps": [step]}


@pytest.mark.django_db
def test_the_api_and_the_pages_answer_404(team, owner, outsider, login):
    credential = actions.create(team, "api", "bearer", {"token": SECRET}, owner)
    client = login(outsider)

    assert client.get("/api/v1/credentials/").json()["results"] == []
    for method, path in [
        ("get", f"/api/v1/credentials/{credential.pk}/"),
        ("patch", f"/api/v1/credentials/{credential.pk}/"),
        ("delete", f"/api/v1/credentials/{credential.pk}/"),
        ("get", f"/credentials/{credential.pk}/"),
        ("post", f"/credentials/{credential.pk}/"),
        ("post", f"/credentials/{credential.pk}/delete/"),
    ]:
        response = getattr(client, method)(
            path, {"values": {"token": "changed-by-outsider"}}, content_type="application/json"
        )
        assert response.status_code == 404, (method, path)
    assert "api" not in client.get("/credentials/").content.decode()
    assert Credential.objects.get().values() == {"token": SECRET}


@pytest.mark.django_db
def test_a_definition_of_another_team_cannot_name_it(team, owner, outsider, components):
    actions.create(team, "api", "bearer", {"token": SECRET}, owner)

    with pytest.raises(services.DefinitionRefused) as refused:
        services.save_definition(reads_the_secret("https://example.com/"), outsider)

    [issue] = refused.value.issues
    assert issue["code"] == "unknown_reference" and "no credential `api`" in issue["message"]
    assert not Workflow.objects.exists()
    # The same definition is fine for the team that has it.
    assert services.save_definition(reads_the_secret("https://example.com/"), owner).created


def test_a_run_of_another_team_does_not_get_it(workers, team, other_team, owner, settings):
    settings.OAWEB_HTTP_ALLOW_PRIVATE = True
    actions.create(team, "api", "bearer", {"token": SECRET}, owner)
    with serve(lambda handler: reply(handler, body=b"{}")) as receiver:
        # Stored without the save's check (as a definition saved before the credential went away would be).
        version, _ = Workflow.import_definition(reads_the_secret(receiver.url), team=other_team)
        run = wait_for_run(start_run(version, {}), timeout=60)

    step = run.steps.get()
    assert run.status == "failed"
    assert step.error == "inputs: secrets.api: no credential 'api' in the workflow's team"
    assert receiver.seen == []
