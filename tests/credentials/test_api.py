"""/api/v1/credentials/: values go in, never come out; a PATCH rotates them; every change is audited."""

import pytest
from rest_framework.test import APIClient

from workflows.audit.models import AuditEvent
from workflows.credentials.models import Credential
from workflows.tokens import ApiToken

pytestmark = pytest.mark.django_db

SECRET = "sk-test-4f1e2d3c"


@pytest.fixture
def api(owner):
    client = APIClient()
    _, token = ApiToken.issue(owner)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def create(api, **fields):
    body = {"name": "llm", "kind": "openai", "values": {"api_key": SECRET, "model": "small-1"}, **fields}
    return api.post("/api/v1/credentials/", body, format="json")


def test_values_are_write_only(api, team):
    created = create(api)

    assert created.status_code == 201, created.content
    assert created.json()["settings"] == {"model": "small-1"}
    assert created.json()["fields_set"] == ["api_key", "model"]
    for answer in (created, api.get("/api/v1/credentials/"), api.get(f"/api/v1/credentials/{created.json()['id']}/")):
        assert answer.status_code == 200 or answer.status_code == 201
        assert SECRET not in answer.content.decode()
    assert Credential.objects.get().values() == {"api_key": SECRET, "model": "small-1"}
    assert Credential.objects.get().team == team


def test_a_patch_rotates_the_fields_given_and_keeps_the_others(api):
    pk = create(api).json()["id"]

    answer = api.patch(f"/api/v1/credentials/{pk}/", {"values": {"api_key": "sk-rotated-9999"}}, format="json")

    assert answer.status_code == 200 and answer.json()["rotated"] is not None
    assert Credential.objects.get().values() == {"api_key": "sk-rotated-9999", "model": "small-1"}


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"values": {"api_key": "x"}}, "values"),  # shorter than a secret may be
        ({"values": {"token": SECRET}}, "values"),  # not a field of the type
        ({"kind": "nope"}, "kind"),
        ({"name": "has space"}, "name"),
        ({"team": "beta"}, "team"),  # not the user's team
        ({"colour": "red"}, "colour"),  # unknown field
    ],
)
def test_bad_input_is_400_naming_the_field_never_the_value(api, fields, field, other_team):
    answer = create(api, **fields)

    assert answer.status_code == 400 and field in answer.json(), answer.json()
    assert SECRET not in answer.content.decode()
    assert not Credential.objects.exists()


def test_a_name_is_unique_per_team(api):
    create(api)
    answer = create(api)

    assert answer.status_code == 400 and "already has a credential named 'llm'" in answer.json()["name"][0]


def test_types_list_each_kind_and_its_secret_fields(api):
    types = {item["kind"]: item for item in api.get("/api/v1/credentials/types/").json()}

    assert set(types) == {"bearer", "basic", "header", "openai", "secret"}
    assert types["basic"]["secret_fields"] == ["password"]
    assert types["openai"]["schema"]["required"] == ["api_key"]


def test_create_rotate_and_delete_are_audited_with_the_token(api, owner):
    pk = create(api).json()["id"]
    api.patch(f"/api/v1/credentials/{pk}/", {"values": {"api_key": "sk-rotated-9999"}}, format="json")
    assert api.delete(f"/api/v1/credentials/{pk}/").status_code == 204

    events = list(AuditEvent.objects.filter(action__startswith="credential.").order_by("id"))
    assert [event.action for event in events] == ["credential.create", "credential.rotate", "credential.delete"]
    assert {(event.user, event.via, event.target_id, event.target_label) for event in events} == {
        (owner, "api", str(pk), "llm (openai)")
    }
    assert all(event.token is not None and event.actor.startswith("owner (token oat_") for event in events)
    assert "sk-" not in str([event.details for event in events])


def test_anonymous_callers_get_401():
    assert APIClient().get("/api/v1/credentials/").status_code == 401
