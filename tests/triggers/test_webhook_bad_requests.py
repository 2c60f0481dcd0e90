"""Wrong tokens, disabled hooks, bad bodies: a clear 4xx, and nothing started."""

import pytest
from django.core.cache import cache

from workflows.execution.models import Run
from workflows.triggers.models import WebhookTrigger


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()


@pytest.fixture
def token(make_workflow):
    return WebhookTrigger.create(make_workflow())[1]


def post(client, token, data, content_type="application/json"):
    return client.post(f"/hooks/{token}/", data, content_type=content_type)


@pytest.mark.parametrize("wrong", ["owh_nope", "nope", "owh_" + "A" * 43])
def test_wrong_token_is_404(client, token, wrong):
    response = post(client, wrong, {})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not Run.objects.exists()


def test_a_disabled_hook_is_404_like_an_unknown_one(client, make_workflow):
    trigger, token = WebhookTrigger.create(make_workflow(), enabled=False)
    response = post(client, token, {})
    assert response.status_code == 404
    assert response.json() == post(client, "owh_unknown", {}).json()


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"greeting": }', b"{'greeting': 'x'}", b'{"a": 1} trailing', b"NaNx"],
)
def test_malformed_json_is_400_naming_the_problem(client, token, raw):
    response = post(client, token, raw)
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert "malformed JSON" in response.json()["detail"]
    assert not Run.objects.exists()


def test_non_utf8_body_is_400(client, token):
    response = post(client, token, b'{"greeting": "\xff\xfe"}')
    assert response.status_code == 400
    assert response.json()["code"] == "not_utf8"


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"42", b"null"])
def test_a_body_that_is_not_an_object_is_400(client, token, raw):
    response = post(client, token, raw)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_inputs"


def test_deeply_nested_json_is_400_not_an_error(client, token):
    response = post(client, token, b'{"greeting": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert response.status_code == 400
    assert response.json()["code"] == "too_deep"


def test_a_body_over_the_limit_is_413(client, token, settings):
    settings.OAWEB_API_MAX_BODY_BYTES = 1024
    response = post(client, token, b'{"greeting": "' + b"x" * 2000 + b'"}')
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert not Run.objects.exists()


def test_a_body_at_the_default_limit_is_413_before_django_reads_it(client, token):
    response = post(client, token, b'{"greeting": "' + b"x" * (3 * 1024 * 1024) + b'"}')
    assert response.status_code == 413


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_only_post_is_allowed(client, token, method):
    assert getattr(client, method)(f"/hooks/{token}/").status_code == 405


def test_nul_characters_in_the_body_are_400(client, token):
    response = post(client, token, b'{"greeting": "a\\u0000b"}')
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
    assert not Run.objects.exists()
