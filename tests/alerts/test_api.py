"""/api/v1/alert-channels/, /alert-rules/, /alert-deliveries/: team-scoped, audited, secrets shown once."""

import pytest
from rest_framework.test import APIClient

from tests.alerts.helpers import rule, run_of, webhook
from workflows.alerts import evaluation
from workflows.alerts.models import AlertChannel
from workflows.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

HOOK = "https://hooks.example.com/services/T000/B000/XXXXSECRETPATH"


@pytest.fixture
def api():
    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        client.default_format = "json"  # the API reads JSON bodies only
        return client

    return make


def test_a_webhook_channels_secret_is_shown_at_creation_only(api, owner, team):
    client = api(owner)

    created = client.post("/api/v1/alert-channels/", {"name": "ops", "kind": "webhook", "url": HOOK}, format="json")

    assert created.status_code == 201, created.json()
    secret = created.json()["secret"]
    assert secret.startswith("whsec_") and AlertChannel.objects.get().signing_secret() == secret
    listed = client.get("/api/v1/alert-channels/").content.decode()
    assert secret not in listed and "XXXXSECRETPATH" not in listed
    assert '"target":"https://hooks.example.com/…"' in listed


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "r", "kind": "run_long"}, "threshold_seconds"),
        ({"name": "r", "kind": "run_failed", "workflow": "theirs"}, "workflow"),
        ({"name": "r", "kind": "nope"}, "kind"),
    ],
)
def test_a_bad_rule_is_400_naming_the_field(api, owner, team, other_team, make_workflow, body, field):
    channel, _ = webhook(team)
    make_workflow({"id": "theirs", "steps": [{"id": "a", "component": "core.noop"}]}, team_=other_team)

    answer = api(owner).post("/api/v1/alert-rules/", {**body, "channel": channel.pk}, format="json")

    assert answer.status_code == 400 and field in answer.json(), answer.json()


def test_rules_use_the_teams_own_channels(api, owner, outsider, team, other_team):
    theirs, _ = webhook(other_team)

    answer = api(owner).post("/api/v1/alert-rules/", {"name": "r", "kind": "run_failed", "channel": theirs.pk})

    assert answer.status_code == 400 and "channel" in answer.json()


def test_a_channel_in_use_is_not_deleted(api, owner, team):
    channel, _ = webhook(team)
    rule(team, channel)

    answer = api(owner).delete(f"/api/v1/alert-channels/{channel.pk}/")

    assert answer.status_code == 409 and "run_failed" in answer.json()["detail"]


def test_another_teams_alerts_are_404_and_unlisted(api, owner, outsider, team, make_workflow):
    channel, _ = webhook(team)
    made = rule(team, channel)
    run_of(make_workflow(), "failed")
    evaluation.evaluate()
    client = api(outsider)

    for path in ("/api/v1/alert-channels/", "/api/v1/alert-rules/", "/api/v1/alert-deliveries/"):
        assert client.get(path).json()["results"] == []
    assert client.get(f"/api/v1/alert-rules/{made.pk}/").status_code == 404
    assert client.patch(f"/api/v1/alert-rules/{made.pk}/", {"enabled": False}).status_code == 404
    assert client.delete(f"/api/v1/alert-channels/{channel.pk}/").status_code == 404
    [delivery] = api(owner).get("/api/v1/alert-deliveries/?status=pending").json()["results"]
    assert delivery["event"] == "run.failed"


def test_rule_changes_are_audited(api, owner, team):
    client = api(owner)
    channel = client.post("/api/v1/alert-channels/", {"name": "ops", "kind": "webhook", "url": HOOK}).json()
    made = client.post("/api/v1/alert-rules/", {"name": "r", "kind": "run_failed", "channel": channel["id"]}).json()
    client.patch(f"/api/v1/alert-rules/{made['id']}/", {"enabled": False})
    client.delete(f"/api/v1/alert-rules/{made['id']}/")

    actions = list(AuditEvent.objects.order_by("id").values_list("action", "user__username", "team__name"))
    assert actions == [
        ("alert_channel.create", "owner", "alpha"),
        ("alert_rule.create", "owner", "alpha"),
        ("alert_rule.change", "owner", "alpha"),
        ("alert_rule.delete", "owner", "alpha"),
    ]
