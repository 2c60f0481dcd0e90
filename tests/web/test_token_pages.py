"""/tokens/: a user issues API tokens (secret shown once), sees only their own, revokes them."""

import re

import pytest
from django.test import Client

from workflows.tokens import ApiToken

SECRET = re.compile(r"oat_[A-Za-z0-9_-]{20,}")


def issue(client, name="ci"):
    response = client.post("/tokens/", {"name": name})
    assert response.status_code == 200, response.content
    secrets = set(SECRET.findall(response.content.decode()))
    assert len(secrets) == 1, secrets
    return response, secrets.pop()


def api_status(secret):
    return Client().get("/api/v1/workflows/", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code


@pytest.mark.parametrize("method, url", [("get", "/tokens/"), ("post", "/tokens/"), ("post", "/tokens/1/revoke/")])
def test_anonymous_visitors_are_sent_to_log_in(db, client, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("method, url", [("put", "/tokens/"), ("get", "/tokens/{id}/revoke/")])
def test_wrong_methods_are_405(owner_client, owner, method, url):
    token, _ = ApiToken.issue(owner, "mine")
    response = getattr(owner_client, method)(url.format(id=token.pk))
    assert response.status_code == 405
    token.refresh_from_db()
    assert token.is_active


def test_issuing_shows_the_secret_once_and_it_authenticates_against_the_api(owner_client, owner):
    response, secret = issue(owner_client, "deploys")

    assert b"won't be shown again" in response.content
    assert response["Cache-Control"].count("no-store") == 1
    token = ApiToken.objects.get()
    assert token.user == owner and token.name == "deploys"
    assert api_status(secret) == 200

    listing = owner_client.get("/tokens/")
    assert listing.status_code == 200
    assert b"deploys" in listing.content
    assert token.prefix.encode() in listing.content
    assert secret.encode() not in listing.content
    assert not SECRET.search(listing.content.decode())


def test_the_secret_is_kept_nowhere_but_the_answer(owner_client):
    _, secret = issue(owner_client)
    session = owner_client.session
    assert all(secret not in str(value) for value in session.values())
    assert secret not in str(ApiToken.objects.values_list(flat=False).get())


def test_revoking_a_token_stops_it_authenticating(owner_client):
    _, secret = issue(owner_client)
    token = ApiToken.objects.get()

    response = owner_client.post(f"/tokens/{token.pk}/revoke/", follow=True)

    assert response.redirect_chain == [("/tokens/", 302)]
    assert b"revoked" in response.content
    token.refresh_from_db()
    assert token.revoked is not None
    assert api_status(secret) == 401


def test_the_list_shows_only_the_users_own_tokens(owner_client, outsider):
    ApiToken.issue(outsider, "someone-elses")
    response = owner_client.get("/tokens/")
    assert b"someone-elses" not in response.content


def test_revoking_another_users_token_is_404(outsider_client, owner):
    token, secret = ApiToken.issue(owner, "mine")

    assert outsider_client.post(f"/tokens/{token.pk}/revoke/").status_code == 404
    assert outsider_client.post("/tokens/999999/revoke/").status_code == 404

    token.refresh_from_db()
    assert token.is_active
    assert api_status(secret) == 200


def test_staff_cannot_revoke_another_users_token(login, staff, owner):
    token, _ = ApiToken.issue(owner, "mine")
    assert login(staff).post(f"/tokens/{token.pk}/revoke/").status_code == 404


def test_a_name_that_is_too_long_is_400_and_issues_nothing(owner_client):
    response = owner_client.post("/tokens/", {"name": "x" * 101})
    assert response.status_code == 400
    assert b"name:" in response.content
    assert not ApiToken.objects.exists()


def test_with_no_tokens_the_page_explains_what_they_are_for(owner_client):
    response = owner_client.get("/tokens/")
    assert response.status_code == 200
    assert b"Authorization: Bearer &lt;token&gt;" in response.content
    assert b"/api/v1/" in response.content


def test_token_names_are_escaped(owner_client):
    response, _ = issue(owner_client, "<script>alert(1)</script>")
    listing = owner_client.get("/tokens/")
    for page in (response, listing):
        assert b"<script>alert(1)</script>" not in page.content
        assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.content


def test_forms_carry_the_csrf_token_and_posts_without_it_are_refused(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    ApiToken.issue(owner, "mine")

    page = client.get("/tokens/").content.decode()

    # logout, issue, revoke; the top bar's search (GET) and the shortcuts dialog's Close post nothing
    posting = page.count("<form") - page.count('method="get"') - page.count('method="dialog"')
    assert posting == page.count('name="csrfmiddlewaretoken"') == 3
    assert client.post("/tokens/", {"name": "forged"}).status_code == 403
    assert ApiToken.objects.count() == 1
