"""/api/v1/webhooks/: the token is shown at creation and rotation only; others' hooks are 404."""

from rest_framework.test import APIClient

from workflows.tokens import digest
from workflows.triggers.models import WebhookTrigger

URL = "/api/v1/webhooks/"


def api(user=None):
    client = APIClient()
    if user:
        client.force_authenticate(user)
    return client


def test_create_shows_the_token_and_url_once(make_workflow, owner):
    make_workflow()
    response = api(owner).post(URL, {"workflow": "hello", "name": "ci"}, format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    token = data["token"]
    assert data["url"] == f"http://testserver/hooks/{token}/"
    trigger = WebhookTrigger.objects.get(pk=data["id"])
    assert trigger.token_hash == digest(token)
    assert trigger.created_by == owner

    shown = api(owner).get(f"{URL}{trigger.pk}/").json()
    assert "token" not in shown and "url" not in shown
    assert token.startswith(shown["token_prefix"])
    assert token not in str(api(owner).get(URL).content)


def test_rotate_returns_a_new_token_and_the_old_one_stops_working(make_workflow, owner):
    trigger, old = WebhookTrigger.create(make_workflow(), user=owner)
    response = api(owner).post(f"{URL}{trigger.pk}/rotate/")
    assert response.status_code == 200
    new = response.json()["token"]
    assert new != old
    assert WebhookTrigger.for_token(old) is None
    assert WebhookTrigger.for_token(new) == trigger


def test_disable_and_delete(make_workflow, owner):
    trigger, token = WebhookTrigger.create(make_workflow(), user=owner)
    response = api(owner).patch(f"{URL}{trigger.pk}/", {"enabled": False}, format="json")
    assert response.status_code == 200
    assert WebhookTrigger.for_token(token) is None
    assert api(owner).delete(f"{URL}{trigger.pk}/").status_code == 204
    assert not WebhookTrigger.objects.exists()


def test_token_fields_cannot_be_written(make_workflow, owner):
    trigger, _ = WebhookTrigger.create(make_workflow(), user=owner)
    for field in ("token_prefix", "token", "token_hash"):
        response = api(owner).patch(f"{URL}{trigger.pk}/", {field: "owh_mine"}, format="json")
        assert response.status_code == 400, field
    assert api(owner).put(f"{URL}{trigger.pk}/", {"workflow": "hello"}, format="json").status_code == 405


def test_another_teams_webhook_is_404_and_untouched(make_workflow, owner, outsider, staff):
    trigger, token = WebhookTrigger.create(make_workflow(), user=owner)
    client = api(outsider)
    url = f"{URL}{trigger.pk}/"
    assert client.get(url).status_code == 404
    assert client.post(f"{url}rotate/").status_code == 404
    assert client.patch(url, {"enabled": False}, format="json").status_code == 404
    assert client.delete(url).status_code == 404
    assert client.get(URL).json() in ([], {"count": 0, "next": None, "previous": None, "results": []})
    assert WebhookTrigger.for_token(token) == trigger
    assert api(staff).get(url).status_code == 200


def test_a_webhook_cannot_be_made_for_another_teams_workflow(make_workflow, outsider):
    make_workflow()
    response = api(outsider).post(URL, {"workflow": "hello"}, format="json")
    assert response.status_code == 400
    assert not WebhookTrigger.objects.exists()


def test_anonymous_is_refused(make_workflow, owner):
    trigger, _ = WebhookTrigger.create(make_workflow(), user=owner)
    assert api().get(URL).status_code in (401, 403)
    assert api().post(f"{URL}{trigger.pk}/rotate/").status_code in (401, 403)
