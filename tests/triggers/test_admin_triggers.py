"""The admin writes the beat entry on save and shows a webhook's token once, at creation."""

import pytest
from django.contrib.messages import get_messages
from django_celery_beat.models import PeriodicTask

from tests.triggers.helpers import make_schedule
from workflows.triggers.beat import periodic_task_name
from workflows.triggers.models import Schedule, WebhookTrigger


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def test_adding_a_schedule_in_the_admin_syncs_its_beat_entry(admin_client, make_workflow, staff):
    workflow = make_workflow()
    form = {"workflow": workflow.pk, "name": "daily", "cron": "0 6 * * *", "timezone": "UTC", "inputs": "{}"}
    form["enabled"] = "on"
    response = admin_client.post("/admin/workflows/schedule/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    schedule = Schedule.objects.get()
    assert schedule.created_by == staff
    assert PeriodicTask.objects.get(name=periodic_task_name(schedule.pk)).crontab.hour == "6"


def test_an_invalid_schedule_is_refused_by_the_admin_form(admin_client, make_workflow):
    workflow = make_workflow()
    form = {"workflow": workflow.pk, "name": "bad", "cron": "0 6 * *", "timezone": "Nowhere", "inputs": "{}"}
    response = admin_client.post("/admin/workflows/schedule/add/", form)
    assert response.status_code == 200
    assert not Schedule.objects.exists()


def test_deleting_schedules_in_bulk_removes_their_beat_entries(admin_client, make_workflow):
    workflow = make_workflow()
    ids = [make_schedule(workflow, name=name).pk for name in ("a", "b")]
    response = admin_client.post(
        "/admin/workflows/schedule/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )
    assert response.status_code == 302
    assert not PeriodicTask.objects.exists()


def test_adding_a_webhook_shows_its_url_once(admin_client, make_workflow):
    workflow = make_workflow()
    response = admin_client.post("/admin/workflows/webhooktrigger/add/", {"workflow": workflow.pk, "enabled": "on"})
    assert response.status_code == 302
    trigger = WebhookTrigger.objects.get()
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    token = next(word for text in shown for word in text.split("/") if word.startswith("owh_"))
    assert WebhookTrigger.for_token(token) == trigger
