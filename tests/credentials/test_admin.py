"""Credentials and alerts in the admin: made and rotated through the actions (audited), values never displayed."""

import json

import pytest

from workflows.alerts.models import AlertChannel
from workflows.audit.models import AuditEvent
from workflows.credentials.models import Credential

pytestmark = pytest.mark.django_db

SECRET = "admin-typed-secret-77"


def test_a_credential_is_added_rotated_and_deleted_in_the_admin(login, staff, team):
    client = login(staff)
    form = {
        "team": team.pk,
        "name": "api",
        "kind": "bearer",
        "description": "",
        "values": json.dumps({"token": SECRET}),
    }

    added = client.post("/admin/workflows/credential/add/", form)

    assert added.status_code == 302, added.content.decode()[:2000]
    credential = Credential.objects.get()
    assert credential.values() == {"token": SECRET}
    page = client.get(f"/admin/workflows/credential/{credential.pk}/change/").content.decode()
    assert SECRET not in page and credential.ciphertext not in page
    rotated = client.post(
        f"/admin/workflows/credential/{credential.pk}/change/",
        {"description": "x", "values": '{"token": "new-secret-88"}'},
    )
    assert rotated.status_code == 302
    assert Credential.objects.get().values() == {"token": "new-secret-88"}
    client.post(f"/admin/workflows/credential/{credential.pk}/delete/", {"post": "yes"})
    assert not Credential.objects.exists()
    assert list(AuditEvent.objects.order_by("id").values_list("action", "via")) == [
        ("credential.create", "admin"),
        ("credential.rotate", "admin"),
        ("credential.delete", "admin"),
    ]


def test_values_that_do_not_fit_the_type_are_a_form_error_not_shown_back(login, staff, team):
    form = {"team": team.pk, "name": "api", "kind": "bearer", "values": json.dumps({"password": SECRET})}

    page = login(staff).post("/admin/workflows/credential/add/", form)

    assert page.status_code == 200 and "values must contain" in page.content.decode()
    assert SECRET not in page.content.decode() and not Credential.objects.exists()


def test_a_webhook_channel_made_in_the_admin_shows_its_secret_once(login, staff, team):
    client = login(staff)
    form = {"team": team.pk, "name": "ops", "kind": "webhook", "url": "https://hooks.example.com/x", "enabled": "on"}

    page = client.post("/admin/workflows/alertchannel/add/", form, follow=True).content.decode()

    secret = AlertChannel.objects.get().signing_secret()
    assert secret in page
    assert (
        secret
        not in client.get(f"/admin/workflows/alertchannel/{AlertChannel.objects.get().pk}/change/").content.decode()
    )
