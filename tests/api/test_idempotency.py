"""`Idempotency-Key` on POST /api/v1/runs/ and on webhooks: a retried start never makes a second run.

Before, a client that timed out and retried created a second run.
"""

import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.core.cache import cache

from tests.api.conftest import as_user
from tests.server import LiveServer
from workflows.execution.idempotency import KEY_LIFETIME, IdempotencyKey
from workflows.execution.models import Run
from workflows.tokens import ApiToken
from workflows.triggers.models import WebhookTrigger


@pytest.fixture
def hello(make_workflow):
    return make_workflow()


def start(client, key=None, inputs=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    body = {"workflow": "hello", "inputs": inputs or {"greeting": "hi"}}
    return client.post("/api/v1/runs/", body, format="json", **headers)


def test_the_same_key_returns_the_first_run(components, owner_api, hello, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        first = start(owner_api, key="order-42")
        again = start(owner_api, key="order-42")

    assert first.status_code == 201 and again.status_code == 201, again.content
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert Run.objects.count() == 1


def test_without_a_key_each_start_is_a_run(components, owner_api, hello, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        start(owner_api)
        start(owner_api)
    assert Run.objects.count() == 2


def test_the_same_key_for_another_request_is_refused(components, owner_api, hello, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        start(owner_api, key="k1", inputs={"greeting": "one"})
        other = start(owner_api, key="k1", inputs={"greeting": "two"})

    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Run.objects.count() == 1


def test_keys_belong_to_their_user(components, owner_api, member, hello, django_capture_on_commit_callbacks):
    member_api = as_user(type(owner_api)(), member)
    with django_capture_on_commit_callbacks(execute=False):
        mine = start(owner_api, key="shared-name")
        theirs = start(member_api, key="shared-name")
    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]


def test_a_key_older_than_a_day_starts_a_new_run(components, owner_api, hello, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        first = start(owner_api, key="daily")
        IdempotencyKey.objects.update(created=IdempotencyKey.objects.get().created - KEY_LIFETIME - timedelta(1))
        later = start(owner_api, key="daily", inputs={"greeting": "changed"})

    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]
    assert IdempotencyKey.objects.get().run_id == later.json()["id"]


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "ключ"])
def test_a_malformed_key_is_a_400(components, owner_api, hello, key):
    response = start(owner_api, key=key)
    assert response.status_code == 400
    assert Run.objects.count() == 0


def test_a_refused_start_does_not_keep_the_key(components, owner_api, hello, django_capture_on_commit_callbacks):
    refused = start(owner_api, key="retry-me", inputs={"greeting": 5})
    assert refused.status_code == 400
    with django_capture_on_commit_callbacks(execute=False):
        fixed = start(owner_api, key="retry-me", inputs={"greeting": 5})
    assert fixed.status_code == 400  # the same request: refused again, not replayed as a run
    assert IdempotencyKey.objects.count() == 0


def test_a_webhook_with_the_same_key_starts_one_run(components, client, hello, django_capture_on_commit_callbacks):
    cache.clear()
    _, token = WebhookTrigger.create(hello)
    with django_capture_on_commit_callbacks(execute=False):
        answers = [
            client.post(
                f"/hooks/{token}/", {"greeting": "hook"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="evt_1"
            )
            for _ in range(3)
        ]
        other = client.post(
            f"/hooks/{token}/", {"greeting": "else"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="evt_1"
        )

    assert [answer.status_code for answer in answers] == [202, 202, 202]
    assert len({answer.json()["run"] for answer in answers}) == 1
    assert answers[2]["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert Run.objects.count() == 1


@pytest.mark.slow
def test_concurrent_retries_with_one_key_make_one_run(workers, transactional_db, owner, hello):
    """Eight clients send the same start at once to the real server: one run, eight answers naming it."""
    _, secret = ApiToken.issue(owner, "retries")
    server = LiveServer()
    try:
        answers = []
        barrier = threading.Barrier(8)

        def client():
            request = urllib.request.Request(
                f"{server.url}/api/v1/runs/",
                data=json.dumps({"workflow": "hello", "inputs": {}}).encode(),
                method="POST",
                headers={
                    "Authorization": f"Bearer {secret}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": "same-for-all",
                },
            )
            barrier.wait()
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    answers.append((response.status, json.load(response)["id"]))
            except urllib.error.HTTPError as error:
                answers.append((error.code, error.read().decode()))

        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.stop()

    assert [status for status, _ in answers] == [201] * 8, answers
    assert len({run for _, run in answers}) == 1
    assert Run.objects.count() == 1
