"""Sending a delivery: the webhook's signed body, retries with backoff when the receiver fails, the outcome kept."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tests.alerts.helpers import rule, run_of, webhook
from tests.registry import reply, serve
from workflows.alerts import actions, delivery, evaluation
from workflows.alerts.models import AlertDelivery

pytestmark = pytest.mark.django_db


def verified(seen, secret: str) -> dict:
    """What a receiver does with a request (docs/alerts.md): check the signature, then trust the body."""
    timestamp = seen.headers["X-Oaweb-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + seen.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(seen.headers["X-Oaweb-Signature"], f"sha256={expected}")
    return json.loads(seen.body)


def due_now():
    AlertDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


@pytest.fixture
def failed_run_alert(team, make_workflow, settings):
    settings.OAWEB_HTTP_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1

    def make(url):
        channel, secret = webhook(team, url=url)
        rule(team, channel)
        run = run_of(make_workflow(), "failed")
        evaluation.evaluate()
        return channel, secret, run

    return make


def test_a_failed_run_is_delivered_once_signed(failed_run_alert):
    with serve(lambda handler: reply(handler, body=b"thanks")) as receiver:
        channel, secret, run = failed_run_alert(receiver.url + "/hook")
        assert delivery.send_due() == 1
        assert delivery.send_due() == 0

    [seen] = receiver.seen
    body = verified(seen, secret)
    assert seen.path == "/hook" and seen.headers["X-Oaweb-Event"] == "run.failed"
    assert body["event"] == "run.failed" and body["run"]["id"] == run.pk and body["run"]["status"] == "failed"
    assert body["delivery"] == {"id": AlertDelivery.objects.get().pk, "attempt": 1}
    sent = AlertDelivery.objects.get()
    assert (sent.status, sent.attempts, sent.response_status, sent.response_body) == ("sent", 1, 200, "thanks")
    assert sent.sent_at is not None


def test_a_receiver_that_fails_first_gets_it_again_after_a_backoff(failed_run_alert, settings):
    settings.OAWEB_ALERT_RETRY_SECONDS = 30
    answers = iter([503, 200])
    with serve(lambda handler: reply(handler, status=next(answers), body=b"later")) as receiver:
        _, secret, _ = failed_run_alert(receiver.url)
        delivery.send_due()
        first = AlertDelivery.objects.get()
        assert (first.status, first.attempts, first.response_status, first.last_error) == (
            "pending",
            1,
            503,
            "HTTP 503",
        )
        assert 25 < (first.next_attempt_at - timezone.now()).total_seconds() <= 30
        assert delivery.send_due() == 0  # not due yet
        due_now()
        delivery.send_due()

    assert [verified(seen, secret)["delivery"]["attempt"] for seen in receiver.seen] == [1, 2]
    done = AlertDelivery.objects.get()
    assert (done.status, done.attempts, done.response_status, done.last_error) == ("sent", 2, 200, "")


def test_after_the_last_attempt_it_is_failed_with_its_error(failed_run_alert, settings):
    settings.OAWEB_ALERT_MAX_ATTEMPTS = 2
    with serve(lambda handler: reply(handler, status=500, body=b"down")) as receiver:
        failed_run_alert(receiver.url)
        delivery.send_due()
        due_now()
        delivery.send_due()
        due_now()
        assert delivery.send_due() == 0

    assert len(receiver.seen) == 2
    failed = AlertDelivery.objects.get()
    assert (failed.status, failed.attempts, failed.last_error, failed.response_body) == (
        "failed",
        2,
        "HTTP 500",
        "down",
    )


def test_backoff_doubles_up_to_an_hour(settings):
    settings.OAWEB_ALERT_RETRY_SECONDS = 30
    assert [delivery.backoff(n) for n in (1, 2, 3, 10)] == [30, 60, 120, 3600]


def test_a_claimed_attempt_is_sent_by_one_sender_only(failed_run_alert):
    with serve(lambda handler: reply(handler)) as receiver:
        failed_run_alert(receiver.url)
        pk, attempts = AlertDelivery.objects.values_list("pk", "attempts").get()
        now = timezone.now()
        assert delivery.claim(pk, attempts, now) and not delivery.claim(pk, attempts, now)
        assert delivery.send_due() == 0  # leased meanwhile
    assert receiver.seen == []


def test_private_addresses_are_refused_unless_allowed(failed_run_alert, settings):
    with serve(lambda handler: reply(handler)) as receiver:
        failed_run_alert(receiver.url)
        settings.OAWEB_HTTP_ALLOW_PRIVATE = False
        delivery.send_due()

    assert receiver.seen == []
    assert "loopback address" in AlertDelivery.objects.get().last_error


def test_slack_gets_text_and_email_goes_through_django(team, make_workflow, settings):
    settings.OAWEB_HTTP_ALLOW_PRIVATE = True
    settings.OAWEB_PUBLIC_URL = "https://oaweb.example.com"
    with serve(lambda handler: reply(handler, body=b"ok")) as receiver:
        slack, _ = actions.create_channel(team, name="slack", kind="slack", url=receiver.url)
        email, _ = actions.create_channel(team, name="mail", kind="email", recipients="ops@example.com, b@example.com")
        rule(team, slack, name="to slack")
        rule(team, email, name="to mail")
        run = run_of(make_workflow(), "failed")
        evaluation.evaluate()
        delivery.send_due()

    [seen] = receiver.seen
    link = f"https://oaweb.example.com/runs/{run.pk}/"
    assert json.loads(seen.body) == {
        "text": f"[oaweb] Run {run.pk} of hello failed: step failed: x <{link}|run {run.pk}>"
    }
    [message] = mail.outbox
    assert message.to == ["ops@example.com", "b@example.com"] and link in message.body
    assert set(AlertDelivery.objects.values_list("status", flat=True)) == {"sent"}


def test_notify_sends_once_per_key(team, settings):
    settings.OAWEB_HTTP_ALLOW_PRIVATE = True
    with serve(lambda handler: reply(handler)) as receiver:
        channel, secret = webhook(team, url=receiver.url)
        first = delivery.notify(channel, "approval.requested", "Approve step x", "approval:41", {"link": "/a/1"})
        again = delivery.notify(channel, "approval.requested", "Approve step x", "approval:41", {"link": "/a/1"})
        delivery.send_due()

    assert first.pk == again.pk
    [seen] = receiver.seen
    assert verified(seen, secret)["link"] == "/a/1"
