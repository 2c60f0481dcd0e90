"""Every action the issue names leaves one audit row: who (user, token), what, which team, through which door."""

import pytest
from rest_framework.test import APIClient

from tests.conftest import noop_definition
from workflows.audit.models import AuditEvent
from workflows.tokens import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(owner):
    client = APIClient()
    token, secret = ApiToken.issue(owner, "audit")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.default_format = "json"
    client.token = token
    return client


def ok(response, status=(200, 201, 204)):
    assert response.status_code in status, response.content
    return response.json() if response.content else None


def rows(after: int = 0):
    return list(
        AuditEvent.objects.filter(pk__gt=after)
        .order_by("id")
        .values_list("action", "user__username", "token__name", "team__name", "via", "target_type")
    )


def test_definitions_and_runs(api, team, components):
    start = AuditEvent.objects.latest("id").pk
    ok(api.post("/api/v1/workflows/", {"definition": noop_definition()}))
    ok(api.post("/api/v1/workflows/", {"definition": noop_definition()}))  # identical: nothing stored, no row
    run = ok(api.post("/api/v1/runs/", {"workflow": "hello"}))
    ok(api.post(f"/api/v1/runs/{run['id']}/cancel/"))
    again = ok(api.post(f"/api/v1/runs/{run['id']}/rerun/"))

    assert rows(start) == [
        ("workflow.save", "owner", "audit", "alpha", "api", "workflow"),
        ("run.start", "owner", "audit", "alpha", "api", "run"),
        ("run.cancel", "owner", "audit", "alpha", "api", "run"),
        ("run.rerun", "owner", "audit", "alpha", "api", "run"),
    ]
    rerun = AuditEvent.objects.get(action="run.rerun")
    assert rerun.target_id == str(again["id"]) and rerun.details == {"rerun_of": run["id"]}
    assert AuditEvent.objects.get(action="run.start").details == {"trigger": "api", "version": "1.0.0"}


def test_tokens_webhooks_and_schedules(api, team, owner, make_workflow, login):
    make_workflow()
    start = AuditEvent.objects.latest("id").pk
    token = ok(api.post("/api/v1/tokens/", {"name": "ci"}))
    ok(api.delete(f"/api/v1/tokens/{token['id']}/"))
    hook = ok(api.post("/api/v1/webhooks/", {"workflow": "hello", "name": "gh"}))
    ok(api.post(f"/api/v1/webhooks/{hook['id']}/rotate/"))
    ok(api.patch(f"/api/v1/webhooks/{hook['id']}/", {"enabled": False}))
    ok(api.delete(f"/api/v1/webhooks/{hook['id']}/"))
    schedule = ok(api.post("/api/v1/schedules/", {"workflow": "hello", "name": "nightly", "cron": "0 3 * * *"}))
    ok(api.patch(f"/api/v1/schedules/{schedule['id']}/", {"enabled": False}))
    ok(api.delete(f"/api/v1/schedules/{schedule['id']}/"))
    login(owner).post("/tokens/", {"name": "from the page"})

    assert [(action, user, via, team_name) for action, user, _, team_name, via, _ in rows(start)] == [
        ("token.create", "owner", "api", None),
        ("token.revoke", "owner", "api", None),
        ("webhook.create", "owner", "api", "alpha"),
        ("webhook.rotate", "owner", "api", "alpha"),
        ("webhook.change", "owner", "api", "alpha"),
        ("webhook.delete", "owner", "api", "alpha"),
        ("schedule.create", "owner", "api", "alpha"),
        ("schedule.change", "owner", "api", "alpha"),
        ("schedule.delete", "owner", "api", "alpha"),
        ("token.create", "owner", "web", None),
    ]
    assert {row[2] for row in rows(start) if row[4] == "api"} == {"audit"}  # the token that acted
    assert all(
        token_name == "audit"
        for *_, token_name, _, via, _ in [(*row[:2], row[2], row[3], row[4], row[5]) for row in rows(start)]
        if via == "api"
    )


def test_credentials_and_alert_rules(api, team):
    start = AuditEvent.objects.latest("id").pk
    credential = ok(api.post("/api/v1/credentials/", {"name": "gh", "kind": "bearer", "values": {"token": "t0ken-1"}}))
    ok(api.patch(f"/api/v1/credentials/{credential['id']}/", {"values": {"token": "t0ken-2"}}))
    ok(api.delete(f"/api/v1/credentials/{credential['id']}/"))
    channel = ok(api.post("/api/v1/alert-channels/", {"name": "ops", "kind": "email", "recipients": "a@example.com"}))
    made = ok(api.post("/api/v1/alert-rules/", {"name": "fails", "kind": "run_failed", "channel": channel["id"]}))
    ok(api.patch(f"/api/v1/alert-rules/{made['id']}/", {"enabled": False}))
    ok(api.delete(f"/api/v1/alert-rules/{made['id']}/"))

    assert [row[0] for row in rows(start)] == [
        "credential.create",
        "credential.rotate",
        "credential.delete",
        "alert_channel.create",
        "alert_rule.create",
        "alert_rule.change",
        "alert_rule.delete",
    ]
    assert {row[1:5] for row in rows(start)} == {("owner", "audit", "alpha", "api")}
    assert "t0ken" not in str(list(AuditEvent.objects.values_list("details", flat=True)))


def test_a_schedule_starts_its_run_on_its_creators_behalf(owner, make_workflow, components):
    from workflows.triggers.models import Schedule
    from workflows.triggers.schedules import fire_schedule

    schedule = Schedule.objects.create(workflow=make_workflow(), name="n", cron="0 3 * * *", created_by=owner)
    run = fire_schedule(schedule)

    event = AuditEvent.objects.get(action="run.start")
    assert (event.user, event.via, event.target_id) == (owner, "", str(run.pk))
    assert event.details == {"trigger": "schedule", "schedule": schedule.pk}
