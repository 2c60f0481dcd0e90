"""The audit log is append-only, its page is for staff, and its API shows each user their teams' events."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from workflows.audit.models import AppendOnly, AuditEvent, record
from workflows.credentials import actions

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(team, other_team, owner, outsider):
    alpha = actions.create(team, "a", "bearer", {"token": "token-a-1"}, owner)
    beta = actions.create(other_team, "b", "bearer", {"token": "token-b-1"}, outsider)
    actions.rotate(alpha, {"token": "token-a-2"}, owner)
    return alpha, beta


def test_rows_are_never_changed_or_deleted(events):
    event = AuditEvent.objects.first()

    event.actor = "someone else"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.update(actor="x")
    with pytest.raises(AppendOnly):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.count() == 3


def test_a_deleted_user_leaves_their_rows_with_their_name(events, owner):
    get_user_model().objects.filter(pk=owner.pk).delete()

    rows = AuditEvent.objects.filter(actor="owner")
    assert rows.count() == 2 and all(row.user is None for row in rows)


def test_an_unknown_action_is_refused():
    with pytest.raises(ValueError, match="unknown audit action"):
        record("run.explode")


def test_the_admin_is_read_only(login, staff, events):
    client = login(staff)
    pk = AuditEvent.objects.first().pk

    assert client.get("/admin/workflows/auditevent/").status_code == 200
    assert client.get("/admin/workflows/auditevent/add/").status_code == 403
    assert client.post(f"/admin/workflows/auditevent/{pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.count() == 3


def test_the_page_is_for_staff_and_filters(login, staff, owner, client, events):
    assert client.get("/audit/").status_code == 302
    assert login(owner).get("/audit/").status_code == 403
    staff_client = login(staff)

    everything = staff_client.get("/audit/").content.decode()
    rotations = staff_client.get("/audit/?action=credential.rotate").content.decode()
    beta = staff_client.get("/audit/?team=beta&user=outsider").content.decode()

    assert everything.count("data-event=") == 3
    assert rotations.count("data-event=") == 1 and "credential.rotate" in rotations
    assert beta.count("data-event=") == 1 and "outsider" in beta and "b (bearer)" in beta


def api_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_shows_staff_everything_and_others_their_teams(staff, owner, outsider, member, events):
    def actions_seen(user, query=""):
        return [event["action"] for event in api_for(user).get(f"/api/v1/audit/{query}").json()["results"]]

    assert len(actions_seen(staff)) == 3
    assert actions_seen(member) == ["credential.rotate", "credential.create"]  # alpha's, newest first
    assert actions_seen(outsider) == ["credential.create"]
    assert actions_seen(staff, "?team=alpha&action=credential.create") == ["credential.create"]
    assert api_for(staff).get("/api/v1/audit/?action=nope").status_code == 400
    beta_event = AuditEvent.objects.get(team__name="beta").pk
    assert api_for(owner).get(f"/api/v1/audit/{beta_event}/").status_code == 404
    assert APIClient().get("/api/v1/audit/").status_code == 401
