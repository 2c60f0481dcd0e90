"""/api/v1/schedules/: CRUD that keeps beat in step, and team permissions (others' are 404)."""

import pytest
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from tests.conftest import noop_definition
from tests.triggers.helpers import make_schedule
from workflows.models import Workflow
from workflows.triggers.beat import periodic_task_name
from workflows.triggers.models import Schedule

URL = "/api/v1/schedules/"


def api(user=None):
    client = APIClient()
    if user:
        client.force_authenticate(user)
    return client


def body(**fields):
    return {"workflow": "hello", "name": "hourly", "cron": "0 * * * *", "timezone": "UTC", "inputs": {}, **fields}


def test_create_stores_the_schedule_and_its_beat_entry(make_workflow, owner):
    make_workflow()
    response = api(owner).post(URL, body(inputs={"greeting": "yo"}), format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["workflow"] == "hello"
    assert data["created_by"] == "owner"
    assert data["inputs"] == {"greeting": "yo"}
    task = PeriodicTask.objects.get(name=periodic_task_name(data["id"]))
    assert task.enabled and task.crontab.minute == "0"


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"cron": "99 * * * *"}, "cron"),
        ({"timezone": "Nowhere/Else"}, "timezone"),
        ({"inputs": {"greeting": 1}}, "inputs"),
        ({"workflow": "missing"}, "workflow"),
        ({"colour": "blue"}, "colour"),
        ({"enabled": "perhaps"}, "enabled"),
    ],
)
def test_invalid_fields_are_400_and_change_nothing(make_workflow, owner, fields, field):
    make_workflow()
    response = api(owner).post(URL, body(**fields), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Schedule.objects.exists()
    assert not PeriodicTask.objects.exists()


def test_update_changes_the_beat_entry(make_workflow, owner):
    schedule = make_schedule(make_workflow(), owner)
    response = api(owner).patch(f"{URL}{schedule.pk}/", {"cron": "*/10 * * * *", "enabled": False}, format="json")
    assert response.status_code == 200, response.content
    task = PeriodicTask.objects.get(name=periodic_task_name(schedule.pk))
    assert task.crontab.minute == "*/10"
    assert not task.enabled


def test_read_only_fields_cannot_be_written(make_workflow, owner):
    schedule = make_schedule(make_workflow(), owner)
    response = api(owner).patch(f"{URL}{schedule.pk}/", {"last_error": "x"}, format="json")
    assert response.status_code == 400


def test_delete_removes_the_beat_entry(make_workflow, owner):
    schedule = make_schedule(make_workflow(), owner)
    assert api(owner).delete(f"{URL}{schedule.pk}/").status_code == 204
    assert not Schedule.objects.exists()
    assert not PeriodicTask.objects.exists()


def test_list_shows_only_the_teams_schedules_and_filters(make_workflow, owner, member, outsider, other_team, staff):
    mine = make_schedule(make_workflow(), owner)
    theirs_wf, _ = Workflow.import_definition(noop_definition("theirs"), team=other_team)
    theirs = make_schedule(theirs_wf.workflow, outsider)

    def ids(user, query=""):
        response = api(user).get(URL + query)
        assert response.status_code == 200
        data = response.json()
        return sorted(item["id"] for item in (data["results"] if isinstance(data, dict) else data))

    assert ids(owner) == [mine.pk]
    assert ids(member) == [mine.pk]
    assert ids(outsider) == [theirs.pk]
    assert ids(staff) == sorted([mine.pk, theirs.pk])
    assert ids(staff, "?workflow=theirs") == [theirs.pk]
    assert ids(staff, "?enabled=false") == []


def test_bad_filters_are_400(db, owner):
    assert api(owner).get(URL + "?ordering=password").status_code == 400
    assert api(owner).get(URL + "?enabled=maybe").status_code == 400


def test_another_teams_schedule_is_404_for_every_method(make_workflow, owner, outsider):
    schedule = make_schedule(make_workflow(), owner)
    client = api(outsider)
    url = f"{URL}{schedule.pk}/"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"enabled": False}, format="json").status_code == 404
    assert client.delete(url).status_code == 404
    schedule.refresh_from_db()
    assert schedule.enabled


def test_a_schedule_cannot_be_made_for_another_teams_workflow(make_workflow, outsider):
    make_workflow()
    response = api(outsider).post(URL, body(), format="json")
    assert response.status_code == 400
    assert "workflow" in response.json()
    assert not Schedule.objects.exists()


def test_anonymous_is_refused(make_workflow, owner):
    schedule = make_schedule(make_workflow(), owner)
    assert api().get(URL).status_code in (401, 403)
    assert api().get(f"{URL}{schedule.pk}/").status_code in (401, 403)
    assert api().post(URL, body(), format="json").status_code in (401, 403)


def test_a_missing_schedule_is_404(db, staff):
    assert api(staff).get(f"{URL}999999/").status_code == 404
    assert api(staff).get(f"{URL}abc/").status_code == 404
