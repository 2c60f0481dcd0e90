"""Guessing tokens is throttled per client IP: after N wrong tries, 429 for every token."""

import pytest
from django.core.cache import cache

from workflows.triggers.models import WebhookTrigger


@pytest.fixture(autouse=True)
def few_misses(settings):
    cache.clear()
    settings.OAWEB_WEBHOOK_MAX_MISSES = 3
    settings.OAWEB_WEBHOOK_MISS_WINDOW = 60
    yield
    cache.clear()


def guess(client, token="owh_wrong", ip="10.0.0.1", data=None):
    return client.post(f"/hooks/{token}/", data or {}, content_type="application/json", REMOTE_ADDR=ip)


def test_wrong_tokens_beyond_the_limit_get_429_with_retry_after(db, client):
    assert [guess(client).status_code for _ in range(3)] == [404, 404, 404]
    response = guess(client)
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert response.json()["code"] == "throttled"


def test_a_throttled_client_gets_429_even_with_a_valid_token(db, client, make_workflow):
    _, token = WebhookTrigger.create(make_workflow())
    for _ in range(3):
        guess(client)
    # A valid token still working would tell a guesser when they hit.
    assert guess(client, token).status_code == 429


def test_other_clients_are_not_throttled(db, client):
    for _ in range(4):
        guess(client, ip="10.0.0.1")
    assert guess(client, ip="10.0.0.2").status_code == 404


def test_the_limit_resets_after_the_window(db, client):
    for _ in range(3):
        guess(client)
    assert guess(client).status_code == 429
    cache.delete("oaweb:webhook-misses:10.0.0.1")  # what the window's expiry does
    assert guess(client).status_code == 404


def test_valid_requests_do_not_count_as_misses(db, client, make_workflow):
    _, token = WebhookTrigger.create(make_workflow())
    for _ in range(5):
        # Inputs that don't fit: the token was right, so this is no guess.
        assert guess(client, token, ip="10.0.0.3", data={"greeting": 5}).status_code == 400
    assert guess(client, ip="10.0.0.3").status_code == 404
