"""The Credentials pages: create, rotate and delete; a secret typed in is never rendered back, even after an error."""

import pytest

from workflows.credentials import actions
from workflows.credentials.models import Credential

pytestmark = pytest.mark.django_db

SECRET = "pw-page-test-51b7"


@pytest.mark.parametrize(
    "method, path", [("get", "/credentials/"), ("post", "/credentials/"), ("get", "/credentials/1/")]
)
def test_anonymous_visitors_are_sent_to_log_in(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_wrong_methods_are_405(login, owner):
    client = login(owner)
    assert client.put("/credentials/").status_code == 405
    assert client.get("/credentials/1/delete/").status_code == 405


def test_a_credential_is_created_from_the_page_and_its_value_never_shown(login, owner, team):
    client = login(owner)
    form = {"kind": "basic", "name": "db", "value-username": "svc", "value-password": SECRET}

    response = client.post("/credentials/", form, follow=True)

    page = response.content.decode()
    assert response.status_code == 200 and "Credential db saved" in page
    assert Credential.objects.get().values() == {"username": "svc", "password": SECRET}
    assert SECRET not in page
    detail = client.get(f"/credentials/{Credential.objects.get().pk}/").content.decode()
    assert "svc" in detail and SECRET not in detail and "•••" in detail


def test_a_refused_form_does_not_send_the_secret_back(login, owner, team):
    client = login(owner)
    form = {"kind": "basic", "name": "bad name!", "value-username": "svc", "value-password": SECRET}

    response = client.post("/credentials/", form)

    assert response.status_code == 400
    assert SECRET not in response.content.decode() and "svc" in response.content.decode()
    assert not Credential.objects.exists()


def test_the_type_chooser_shows_that_types_fields(login, owner):
    page = login(owner).get("/credentials/?kind=header").content.decode()
    assert 'name="value-header"' in page and 'name="value-value"' in page and 'type="password"' in page


def test_rotate_and_delete(login, owner, team):
    credential = actions.create(team, "api", "bearer", {"token": "old-token-1234"})
    client = login(owner)

    assert client.post(f"/credentials/{credential.pk}/", {"value-token": SECRET}).status_code == 302
    assert Credential.objects.get().values() == {"token": SECRET}
    assert client.post(f"/credentials/{credential.pk}/", {"value-token": ""}).status_code == 400
    assert client.post(f"/credentials/{credential.pk}/delete/").status_code == 302
    assert not Credential.objects.exists()
