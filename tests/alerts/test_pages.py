"""The Alerts page: channels and rules made, paused and deleted; deliveries listed; another team's are 404."""

import pytest

from tests.alerts.helpers import rule, run_of, webhook
from workflows.alerts import evaluation
from workflows.alerts.models import AlertChannel, AlertRule

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "method, path",
    [("get", "/alerts/"), ("post", "/alerts/channels/"), ("post", "/alerts/rules/"), ("post", "/alerts/rules/1/")],
)
def test_anonymous_visitors_are_sent_to_log_in(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_wrong_methods_are_405(login, owner):
    client = login(owner)
    assert client.post("/alerts/").status_code == 405
    assert client.get("/alerts/channels/").status_code == 405


def test_a_webhook_channel_shows_its_secret_once_then_a_rule_uses_it(login, owner, team):
    client = login(owner)

    made = client.post("/alerts/channels/", {"name": "ops", "kind": "webhook", "url": "https://hooks.example.com/x"})

    secret = AlertChannel.objects.get().signing_secret()
    assert made.status_code == 200 and secret in made.content.decode() and made["Cache-Control"].startswith("max-age=0")
    assert secret not in client.get("/alerts/").content.decode()
    channel = AlertChannel.objects.get()
    form = {"name": "fails", "kind": "run_failed", "channel": channel.pk, "workflow": ""}
    assert client.post("/alerts/rules/", form).status_code == 302
    assert AlertRule.objects.get().channel == channel


def test_a_refused_rule_says_why(login, owner, team):
    channel, _ = webhook(team)
    response = login(owner).post("/alerts/rules/", {"name": "slow", "kind": "run_long", "channel": channel.pk})

    assert response.status_code == 400 and "needs threshold_seconds" in response.content.decode()


def test_pause_resume_delete_and_the_deliveries(login, owner, team, make_workflow):
    channel, _ = webhook(team)
    made = rule(team, channel)
    run = run_of(make_workflow(), "failed")
    evaluation.evaluate()
    client = login(owner)

    client.post(f"/alerts/rules/{made.pk}/", {"action": "pause"})
    assert AlertRule.objects.get().enabled is False
    page = client.get("/alerts/").content.decode()
    assert "run.failed" in page and f"/runs/{run.pk}/" in page and "paused" in page
    client.post(f"/alerts/channels/{channel.pk}/", {"action": "delete"})
    assert AlertChannel.objects.exists()  # a rule still uses it
    client.post(f"/alerts/rules/{made.pk}/", {"action": "delete"})
    client.post(f"/alerts/channels/{channel.pk}/", {"action": "delete"})
    assert not AlertChannel.objects.exists() and not AlertRule.objects.exists()


def test_another_teams_channels_and_rules_are_404(login, outsider, team):
    channel, _ = webhook(team)
    made = rule(team, channel)
    client = login(outsider)

    assert client.post(f"/alerts/rules/{made.pk}/", {"action": "delete"}).status_code == 404
    assert client.post(f"/alerts/channels/{channel.pk}/", {"action": "pause"}).status_code == 404
    assert "hooks.example.com" not in client.get("/alerts/").content.decode()
