"""Deciding an approval from the run page (team members) and through its signed link (whoever holds it)."""

import re

import pytest
from django.test import Client

from tests.execution.test_waits import approval, start, then, waiting
from workflows.audit.models import AuditEvent
from workflows.execution.models import StepRun
from workflows.execution.runs import wait_for_run
from workflows.redaction import redact

pytestmark = [pytest.mark.slow]


@pytest.fixture
def asked(workers, team):
    """A run whose step `w` waits for an approval."""
    run = start(team, [approval(), then(reads="{{ steps.w.outputs.by }}")], slug="asked")
    waiting(run, "w")
    return run


def link_of(page: str) -> str:
    found = re.search(r'class="approval-link" readonly value="http://testserver(/approvals/[^"]+/)"', page)
    assert found, "no signed link on the page"
    return found.group(1)


def test_the_step_panel_asks_and_a_team_member_approves(asked, owner_client, outsider_client):
    panel = owner_client.get(f"/runs/{asked.pk}/steps/w/").content.decode()
    assert "Refund 40 EUR?" in panel and 'value="approve"' in panel and 'value="reject"' in panel
    assert outsider_client.post(f"/runs/{asked.pk}/steps/w/decide/", {"decision": "approve"}).status_code == 404
    answer = owner_client.post(f"/runs/{asked.pk}/steps/w/decide/", {"decision": "approve", "comment": "ok"})
    assert answer.status_code == 302
    run = wait_for_run(asked, timeout=30)
    assert run.status == "succeeded", run.error
    assert run.steps.get(step_id="w").outputs["by"] == "owner"
    decided = AuditEvent.objects.get(action="run.approve")
    assert (decided.user.username, decided.target_id, decided.details["comment"]) == ("owner", str(run.pk), "ok")


def test_a_signed_link_decides_once_without_a_login(asked, owner_client):
    link = link_of(owner_client.get(f"/runs/{asked.pk}/steps/w/").content.decode())
    anonymous = Client()
    page = anonymous.get(link)
    assert page.status_code == 200 and b"Refund 40 EUR?" in page.content
    assert anonymous.post(link, {"decision": "reject", "comment": "too much"}).status_code == 200
    run = wait_for_run(asked, timeout=30)
    step = run.steps.get(step_id="w")
    assert (run.status, step.error) == ("failed", "rejected by signed link: too much")
    assert AuditEvent.objects.get(action="run.reject").details["by"] == "signed link"
    assert anonymous.get(link).status_code == 404  # decided: the link asks nothing any more


def test_a_forged_or_stale_link_decides_nothing(asked, owner_client):
    link = link_of(owner_client.get(f"/runs/{asked.pk}/steps/w/").content.decode())
    assert Client().post(link[:-3] + "xx/", {"decision": "approve"}).status_code == 404
    StepRun.objects.filter(run=asked, step_id="w").update(attempt=2)  # as if a later attempt waited now
    assert Client().post(link, {"decision": "approve"}).status_code == 404
    assert StepRun.objects.get(run=asked, step_id="w").status == "waiting"


def test_a_signed_link_is_masked_in_logs():
    assert redact("GET /approvals/.eJyrVkrOL0pVslIyMrQ0sbA0Ni7WUUpJLEktBQBtvAck:1tA:sig/ 200") == (
        "GET /approvals/.eJyrVkrOL0p***/ 200"
    )
