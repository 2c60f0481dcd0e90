"""The editor's requests over the size limit: a 413 naming the size and the limit, never RequestDataTooBig.

Django refuses to read a form body over DATA_UPLOAD_MAX_MEMORY_SIZE, and
CsrfViewMiddleware reads every POST's form: that was a 400 (the debug page
with DEBUG on) before any view could answer. Here the CSRF check is enforced,
as in a browser, so the body goes through that same path.
"""

import json
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import make_user, noop_definition
from workflows.models import Workflow
from workflows.web.editor import max_source_bytes, size_text

LIMIT = 2048


@pytest.fixture
def small_limits(settings):
    settings.OAWEB_API_MAX_BODY_BYTES = LIMIT
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT + 1024  # as oaweb/settings.py derives it
    return settings


def browser_client(user) -> tuple[Client, str]:
    """A client that makes the CSRF check, and the token a page gave it."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(reverse("workflow-new"))
    return client, client.cookies["csrftoken"].value


def source_of(slug: str, size: int) -> str:
    """A valid definition padded with spaces to `size` bytes."""
    text = json.dumps(noop_definition(slug))
    return text + " " * (size - len(text))


@pytest.fixture
def urls(make_workflow):
    make_workflow()
    return {
        "validate": reverse("workflow-validate"),
        "new": reverse("workflow-new"),
        "edit": reverse("workflow-edit", args=["hello"]),
    }


def post(client, url, data, encoding):
    if encoding == "multipart":
        return client.post(url, data)
    return client.post(url, urlencode(data), content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
@pytest.mark.parametrize("page", ["validate", "new", "edit"])
def test_a_body_over_the_limit_is_413_with_the_message(owner, small_limits, urls, components, page, encoding):
    client, token = browser_client(owner)
    response = post(client, urls[page], {"csrfmiddlewaretoken": token, "source": source_of("big", 4 * LIMIT)}, encoding)
    assert response.status_code == 413
    html = response.content.decode()
    assert "RequestDataTooBig" not in html
    assert "The document is too large: " in html
    assert "the limit is 2.0 KB. It was neither checked nor saved." in html
    assert "raise OAWEB_API_MAX_BODY_BYTES" in html
    assert "error · too_large" in html
    assert not Workflow.objects.filter(slug="big").exists()
    if page == "validate":
        assert "<html" not in html  # the Problems panel's fragment
        assert "1 problem" in html
    else:
        assert 'name="source"' in html  # the editor again, with the message in its panel
        assert "Back button" in html
        # No check of the (empty) editor when the page loads: it would replace the message.
        assert 'hx-trigger="input changed delay:400ms" ' in html


def test_the_size_sent_is_in_the_message(owner, small_limits, urls):
    client, token = browser_client(owner)
    body = urlencode({"csrfmiddlewaretoken": token, "source": "x" * (20 * 1024)})
    response = client.post(urls["validate"], body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert f"The document is too large: {size_text(len(body))} were sent" in response.content.decode()


def test_a_body_under_the_limit_is_checked_and_saved(owner, small_limits, urls, components):
    client, token = browser_client(owner)
    source = source_of("small", LIMIT - 100)
    response = client.post(urls["validate"], {"csrfmiddlewaretoken": token, "source": source})
    assert response.status_code == 200
    assert "Valid" in response.content.decode()
    response = client.post(urls["new"], {"csrfmiddlewaretoken": token, "source": source})
    assert response.status_code == 302
    assert Workflow.objects.filter(slug="small").exists()


@pytest.mark.parametrize("page", ["validate", "new", "edit"])
def test_the_csrf_check_still_applies_under_the_limit(owner, small_limits, urls, components, page):
    client, _ = browser_client(owner)
    response = client.post(urls[page], {"source": source_of("hello", 200)})
    assert response.status_code == 403


def test_an_outsider_over_the_limit_learns_nothing_of_the_workflow(small_limits, urls, other_team):
    client, token = browser_client(make_user("stranger", other_team))
    response = client.post(urls["edit"], {"csrfmiddlewaretoken": token, "source": "x" * (4 * LIMIT)})
    assert response.status_code == 404


@pytest.mark.parametrize("page", ["validate", "new", "edit"])
def test_anonymous_over_the_limit_is_sent_to_login(client, small_limits, urls, page):
    response = client.post(urls[page], {"source": "x" * (4 * LIMIT)})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_the_editor_page_gives_its_limit_and_sends_multipart(owner_client, small_limits, urls):
    html = owner_client.get(urls["edit"]).content.decode()
    assert 'data-max-bytes="2048"' in html
    assert 'data-max-setting="OAWEB_API_MAX_BODY_BYTES"' in html
    assert 'enctype="multipart/form-data"' in html  # the body is the text's own size, not three times it
    assert 'hx-encoding="multipart/form-data"' in html
    assert 'hx-trigger="input changed delay:400ms, load"' in html


def test_the_limit_is_the_lesser_of_the_body_and_definition_limits(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024 + 1024
    settings.OAWEB_MAX_DEFINITION_BYTES = 5 * 1024 * 1024
    assert max_source_bytes() == (2 * 1024 * 1024, "OAWEB_API_MAX_BODY_BYTES")
    settings.OAWEB_MAX_DEFINITION_BYTES = 1024 * 1024
    assert max_source_bytes() == (1024 * 1024, "OAWEB_MAX_DEFINITION_BYTES")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = None
    assert max_source_bytes() == (1024 * 1024, "OAWEB_MAX_DEFINITION_BYTES")


@pytest.mark.parametrize(("size", "text"), [(900, "900 bytes"), (65536, "64.0 KB"), (6_500_000, "6.2 MB")])
def test_sizes_are_written_for_people(size, text):
    assert size_text(size) == text


def test_a_definition_too_large_under_the_body_limit_is_an_issue(owner_client, settings):
    settings.OAWEB_MAX_DEFINITION_BYTES = 1024
    response = owner_client.post(reverse("workflow-validate"), {"source": source_of("big", 1500)})
    assert response.status_code == 200
    assert "too_large" in response.content.decode()


def test_the_default_limit_is_the_api_body_limit(owner_client):
    """2 MB (OAWEB_API_MAX_BODY_BYTES, oaweb/settings.py): the editor takes what the API takes."""
    html = owner_client.get(reverse("workflow-new")).content.decode()
    assert f'data-max-bytes="{2 * 1024 * 1024}"' in html
