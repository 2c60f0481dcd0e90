"""API tokens: shown once, stored hashed, revocable; anonymous and bad tokens get 401; throttling."""

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import as_user
from workflows.tokens import ApiToken, digest

pytestmark = pytest.mark.django_db


def test_a_token_is_shown_once_and_stored_only_as_a_digest(owner):
    session = APIClient()
    session.force_authenticate(owner)

    created = session.post("/api/v1/tokens/", {"name": "ci"}, format="json")

    assert created.status_code == 201
    secret = created.json()["token"]
    stored = ApiToken.objects.get(pk=created.json()["id"])
    assert stored.digest == digest(secret) and secret not in (stored.digest, stored.prefix)
    listed = session.get("/api/v1/tokens/").json()["results"]
    assert [item["name"] for item in listed] == ["ci"] and "token" not in listed[0]


def test_a_token_authenticates_until_it_is_revoked(owner, components):
    api = as_user(APIClient(), owner)
    token = ApiToken.objects.get(user=owner)
    assert api.get("/api/v1/workflows/").status_code == 200

    assert api.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204

    response = api.get("/api/v1/workflows/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_users_cannot_revoke_each_others_tokens(owner, outsider):
    theirs, _ = ApiToken.issue(owner)

    assert as_user(APIClient(), outsider).delete(f"/api/v1/tokens/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active


@pytest.mark.parametrize("header", [None, "Bearer oat_not-a-real-token", "Bearer", "Bearer two words", "Token abc"])
def test_anonymous_or_bad_credentials_get_401(header, db):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/v1/workflows/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_too_many_requests_get_429_with_retry_after(owner, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "3/min"}}
    from django.core.cache import cache

    cache.clear()
    api = as_user(APIClient(), owner)

    statuses = [api.get("/api/v1/tokens/").status_code for _ in range(5)]

    assert statuses == [200, 200, 200, 429, 429]
    throttled = api.get("/api/v1/tokens/")
    assert throttled.json()["code"] == "throttled" and int(throttled["Retry-After"]) > 0


def test_session_writes_need_the_csrf_token(owner, client):
    client.force_login(owner)
    strict = APIClient(enforce_csrf_checks=True)
    strict.force_login(owner)

    assert strict.post("/api/v1/tokens/", {"name": "x"}, format="json").status_code == 403


def test_admin_issues_a_token_shown_once_and_revokes_it(client, staff, owner):
    client.force_login(staff)

    response = client.post("/admin/workflows/apitoken/add/", {"user": owner.pk, "name": "from admin"}, follow=True)

    token = ApiToken.objects.get(name="from admin")
    shown = [str(message) for message in response.context["messages"]]
    secret = next(word for message in shown for word in message.split() if word.startswith("oat_"))
    assert token.digest == digest(secret) and token.user == owner
    client.post("/admin/workflows/apitoken/", {"action": "revoke_tokens", "_selected_action": [token.pk]}, follow=True)
    token.refresh_from_db()
    assert not token.is_active
