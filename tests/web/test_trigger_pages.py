"""A workflow's schedules and webhooks panel: the same changes as the API, beat kept in step, tokens shown once."""

import json
import re
from datetime import UTC, datetime

import pytest
from django.test import Client
from django_celery_beat.models import PeriodicTask

from tests.conftest import noop_definition
from workflows.execution.models import Run
from workflows.execution.runs import wait_for_run
from workflows.triggers.beat import periodic_task_name
from workflows.triggers.models import Schedule, WebhookTrigger
from workflows.web.trigger_panel import next_fire

HTMX = {"HTTP_HX_REQUEST": "true"}
HOOK_URL = re.compile(r"http://testserver/hooks/(owh_[A-Za-z0-9_-]+)/")
XSS = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def clear_cache():
    """The webhook view counts misses per IP in the cache."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def workflow(make_workflow):
    return make_workflow()


def add_schedule(client, slug="hello", htmx=True, **fields):
    data = {"name": "nightly", "cron": "0 3 * * *", "timezone": "UTC", "inputs": "{}", "enabled": "on", **fields}
    return client.post(f"/workflows/{slug}/schedules/", data, **(HTMX if htmx else {}))


def add_webhook(client, name="from ci", slug="hello", htmx=True):
    return client.post(f"/workflows/{slug}/webhooks/", {"name": name}, **(HTMX if htmx else {}))


def hook_urls(response) -> list[str]:
    return HOOK_URL.findall(response.content.decode())


def beat_enabled(schedule) -> bool:
    return PeriodicTask.objects.get(name=periodic_task_name(schedule.pk)).enabled


def routes(schedule_id=1, webhook_id=1):
    return [
        ("get", "/workflows/hello/triggers/"),
        ("post", "/workflows/hello/schedules/"),
        ("post", f"/workflows/hello/schedules/{schedule_id}/"),
        ("post", "/workflows/hello/webhooks/"),
        ("post", f"/workflows/hello/webhooks/{webhook_id}/"),
    ]


# --- access ----------------------------------------------------------------------------


@pytest.mark.parametrize("method, url", routes())
def test_anonymous_visitors_are_sent_to_log_in(client, workflow, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


@pytest.mark.parametrize(
    "method, url",
    [
        ("post", "/workflows/hello/triggers/"),
        ("get", "/workflows/hello/schedules/"),
        ("get", "/workflows/hello/schedules/1/"),
        ("get", "/workflows/hello/webhooks/"),
        ("get", "/workflows/hello/webhooks/1/"),
    ],
)
def test_wrong_methods_are_405(owner_client, workflow, method, url):
    assert getattr(owner_client, method)(url).status_code == 405


def test_outsiders_get_404_and_change_nothing(outsider_client, workflow, owner):
    schedule = Schedule.objects.create(workflow=workflow, name="nightly", cron="0 3 * * *", created_by=owner)
    schedule.sync()
    webhook, _ = WebhookTrigger.create(workflow, user=owner)
    data = {"name": "x", "cron": "* * * * *", "timezone": "UTC", "inputs": "{}", "action": "delete"}

    for method, url in routes(schedule.pk, webhook.pk):
        assert getattr(outsider_client, method)(url, data).status_code == 404, url

    assert list(Schedule.objects.all()) == [schedule]
    assert list(WebhookTrigger.objects.all()) == [webhook]
    assert beat_enabled(schedule)


def test_ids_of_another_workflows_triggers_are_404(owner_client, make_workflow, owner):
    make_workflow()
    other = make_workflow(noop_definition("other"))
    schedule = Schedule.objects.create(workflow=other, name="nightly", cron="0 3 * * *", created_by=owner)
    schedule.sync()
    webhook, _ = WebhookTrigger.create(other, user=owner)

    assert owner_client.post(f"/workflows/hello/schedules/{schedule.pk}/", {"action": "delete"}).status_code == 404
    assert owner_client.post(f"/workflows/hello/webhooks/{webhook.pk}/", {"action": "delete"}).status_code == 404
    assert Schedule.objects.filter(pk=schedule.pk).exists()
    assert WebhookTrigger.objects.filter(pk=webhook.pk).exists()


def test_team_members_manage_the_teams_triggers(login, member, workflow):
    assert add_schedule(login(member)).status_code == 200
    assert Schedule.objects.get().created_by == member


# --- the panel -------------------------------------------------------------------------


def test_htmx_gets_the_panel_fragment_and_a_plain_visit_a_full_page(owner_client, workflow):
    fragment = owner_client.get("/workflows/hello/triggers/", **HTMX)
    page = owner_client.get("/workflows/hello/triggers/")

    assert fragment.status_code == page.status_code == 200
    assert b'id="triggers"' in fragment.content and b"<html" not in fragment.content
    assert b'id="triggers"' in page.content and b"<html" in page.content
    assert b"No schedules" in fragment.content and b"No webhooks" in fragment.content


def test_the_panel_lists_schedules_with_their_next_run(owner_client, workflow, owner):
    schedule = Schedule.objects.create(
        workflow=workflow, name="nightly", cron="0 3 * * *", inputs={"greeting": "yo"}, created_by=owner
    )
    schedule.sync()

    content = owner_client.get("/workflows/hello/triggers/", **HTMX).content.decode()

    assert "nightly" in content and "0 3 * * *" in content
    assert "{&quot;greeting&quot;: &quot;yo&quot;}" in content
    assert next_fire(schedule).isoformat() in content


def test_next_fire_reads_the_cron_in_the_schedules_time_zone(db, workflow):
    schedule = Schedule.objects.create(workflow=workflow, name="n", cron="0 3 * * *", timezone="Europe/Paris")
    schedule.sync()
    # The night clocks go forward in Paris: 03:00 CEST is 01:00 UTC.
    assert next_fire(schedule, datetime(2026, 3, 29, 0, 30, tzinfo=UTC)) == datetime(2026, 3, 29, 1, tzinfo=UTC)
    schedule.enabled = False
    assert next_fire(schedule) is None


def test_forms_carry_the_csrf_token_and_posts_without_it_are_refused(owner, workflow):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    Schedule.objects.create(workflow=workflow, name="nightly", cron="0 3 * * *").sync()
    WebhookTrigger.create(workflow, user=owner)

    content = client.get("/workflows/hello/triggers/", **HTMX).content.decode()

    assert content.count("<form") == content.count('name="csrfmiddlewaretoken"') == 7
    assert add_schedule(client).status_code == 403
    assert add_webhook(client).status_code == 403


# --- schedules -----------------------------------------------------------------------------


def test_creating_a_schedule_stores_it_and_its_beat_entry(owner_client, workflow, owner):
    response = add_schedule(owner_client, inputs='{"greeting": "yo"}', timezone="Europe/Paris")

    assert response.status_code == 200
    assert b"Schedule \xe2\x80\x9cnightly\xe2\x80\x9d created." in response.content
    schedule = Schedule.objects.get()
    assert (schedule.cron, schedule.timezone, schedule.inputs) == ("0 3 * * *", "Europe/Paris", {"greeting": "yo"})
    assert schedule.enabled and schedule.created_by == owner
    task = PeriodicTask.objects.get(name=periodic_task_name(schedule.pk))
    assert task.enabled and (task.crontab.minute, task.crontab.hour) == ("0", "3")
    assert str(task.crontab.timezone) == "Europe/Paris"


def test_a_schedule_created_unchecked_is_paused_in_beat_too(owner_client, workflow):
    response = owner_client.post(
        "/workflows/hello/schedules/", {"name": "n", "cron": "*/5 * * * *", "timezone": "UTC", "inputs": ""}, **HTMX
    )
    assert response.status_code == 200
    schedule = Schedule.objects.get()
    assert schedule.inputs == {}
    assert not schedule.enabled and not beat_enabled(schedule)


def test_pause_resume_and_delete_keep_beat_in_step(owner_client, workflow):
    add_schedule(owner_client)
    schedule = Schedule.objects.get()
    url = f"/workflows/hello/schedules/{schedule.pk}/"

    assert owner_client.post(url, {"action": "pause"}, **HTMX).status_code == 200
    schedule.refresh_from_db()
    assert not schedule.enabled and not beat_enabled(schedule)

    assert owner_client.post(url, {"action": "resume"}, **HTMX).status_code == 200
    schedule.refresh_from_db()
    assert schedule.enabled and beat_enabled(schedule)

    response = owner_client.post(url, {"action": "delete"}, **HTMX)
    assert response.status_code == 200 and b"No schedules" in response.content
    assert not Schedule.objects.exists()
    assert not PeriodicTask.objects.exists()


def test_without_htmx_changes_redirect_to_the_workflow_with_a_message(owner_client, workflow):
    response = add_schedule(owner_client, htmx=False)
    assert response.status_code == 302 and response["Location"] == "/workflows/hello/"
    schedule = Schedule.objects.get()

    response = owner_client.post(f"/workflows/hello/schedules/{schedule.pk}/", {"action": "pause"})
    assert response.status_code == 302 and response["Location"] == "/workflows/hello/"
    assert [str(m) for m in response.wsgi_request._messages] == [
        "Schedule “nightly” created.",
        "Schedule “nightly” paused.",
    ]
    assert not beat_enabled(schedule)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"cron": "99 * * * *"}, "cron: invalid cron expression"),
        ({"cron": "* * *"}, "cron: a cron expression has 5 fields"),
        ({"timezone": "Nowhere/Else"}, "timezone: unknown time zone"),
        ({"inputs": "{not json"}, "inputs: not valid JSON"),
        ({"inputs": "[1, 2]"}, "inputs: inputs must be a JSON object"),
        ({"inputs": '{"greeting": 42}'}, "inputs: /inputs/greeting"),
        ({"name": ""}, "name: "),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_invalid_schedules_are_400_with_the_reason_and_change_nothing(owner_client, workflow, fields, message, htmx):
    response = add_schedule(owner_client, htmx=htmx, **fields)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Schedule.objects.exists()
    assert not PeriodicTask.objects.exists()


def test_a_duplicate_schedule_name_is_400(owner_client, workflow):
    add_schedule(owner_client)
    response = add_schedule(owner_client, cron="5 * * * *")
    assert response.status_code == 400
    assert b"already exists" in response.content
    assert Schedule.objects.count() == PeriodicTask.objects.count() == 1


def test_invalid_input_is_kept_in_the_form(owner_client, workflow):
    response = add_schedule(owner_client, name="keep me", cron="61 * * * *")
    assert b'value="keep me"' in response.content
    assert b'value="61 * * * *"' in response.content


def test_an_unknown_action_is_400(owner_client, workflow, owner):
    add_schedule(owner_client)
    schedule = Schedule.objects.get()
    webhook, _ = WebhookTrigger.create(workflow, user=owner)
    assert owner_client.post(f"/workflows/hello/schedules/{schedule.pk}/", {"action": "explode"}).status_code == 400
    assert owner_client.post(f"/workflows/hello/webhooks/{webhook.pk}/", {"action": "explode"}).status_code == 400
    assert beat_enabled(schedule)


# --- webhooks ------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [True, False])
def test_creating_a_webhook_shows_its_url_once_and_posting_to_it_starts_a_run(
    workers, owner_client, workflow, owner, htmx
):
    response = add_webhook(owner_client, htmx=htmx)

    assert response.status_code == 200
    assert b"won't be shown again" in response.content
    assert "no-store" in response["Cache-Control"]
    [token] = hook_urls(response)
    assert WebhookTrigger.for_token(token).created_by == owner
    assert not hook_urls(owner_client.get("/workflows/hello/triggers/", **HTMX))
    assert token not in owner_client.get("/workflows/hello/triggers/").content.decode()

    hook = Client().post(f"/hooks/{token}/", {"greeting": "from the page"}, content_type="application/json")

    assert hook.status_code == 202, hook.content
    run = wait_for_run(Run.objects.get(pk=hook.json()["run"]), timeout=60)
    assert run.status == "succeeded", run.error
    assert run.trigger == "webhook" and run.outputs == {"value": "from the page"}


def test_rotating_shows_a_new_url_once_and_the_old_one_stops_working(owner_client, workflow):
    [old] = hook_urls(add_webhook(owner_client))
    webhook = WebhookTrigger.objects.get()

    response = owner_client.post(f"/workflows/hello/webhooks/{webhook.pk}/", {"action": "rotate"}, **HTMX)

    assert response.status_code == 200
    [new] = hook_urls(response)
    assert new != old
    assert WebhookTrigger.for_token(old) is None
    assert WebhookTrigger.for_token(new) == webhook


def test_disabling_enabling_and_deleting_a_webhook(owner_client, workflow):
    [token] = hook_urls(add_webhook(owner_client))
    webhook = WebhookTrigger.objects.get()
    url = f"/workflows/hello/webhooks/{webhook.pk}/"

    assert owner_client.post(url, {"action": "disable"}, **HTMX).status_code == 200
    assert WebhookTrigger.for_token(token) is None
    assert Client().post(f"/hooks/{token}/", {}, content_type="application/json").status_code == 404

    assert owner_client.post(url, {"action": "enable"}, **HTMX).status_code == 200
    assert WebhookTrigger.for_token(token) == webhook

    response = owner_client.post(url, {"action": "delete"})
    assert response.status_code == 302 and response["Location"] == "/workflows/hello/"
    assert not WebhookTrigger.objects.exists()


def test_a_webhook_name_that_is_too_long_is_400(owner_client, workflow):
    response = add_webhook(owner_client, name="x" * 201)
    assert response.status_code == 400
    assert b"name: " in response.content
    assert not hook_urls(response)
    assert not WebhookTrigger.objects.exists()


# --- escaping --------------------------------------------------------------------------------


def test_user_strings_are_escaped(owner_client, workflow):
    add_schedule(owner_client, name=XSS, inputs=json.dumps({"greeting": XSS}))
    add_webhook(owner_client, name=XSS)
    invalid = add_schedule(owner_client, name=XSS, cron=XSS)

    for response in (owner_client.get("/workflows/hello/triggers/", **HTMX), invalid):
        content = response.content.decode()
        assert XSS not in content
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
