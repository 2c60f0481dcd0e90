"""Every way a body can exceed the limit is a 413, never a 500, whatever the credentials or content type."""

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import as_user
from workflows.models import Workflow
from workflows.tokens import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limits(settings):
    settings.OAWEB_API_MAX_BODY_BYTES = 2048
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048 + 1024


def test_a_body_longer_than_its_declared_length_is_read_only_that_far(owner, components, small_limits):
    api = as_user(APIClient(), owner)

    body = b'{"id": "x"}' + b" " * 8192

    response = api.generic("POST", "/api/v1/validate", body, content_type="application/json", CONTENT_LENGTH="4")

    assert response.status_code == 400
    assert "malformed JSON" in response.json()["detail"]


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_session_post_over_the_limit_is_413_whatever_its_content_type(owner, small_limits, content_type):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(owner)
    browser.cookies["csrftoken"] = "a" * 32  # a cookie but no token: the CSRF check reads the form body
    body = b"name=" + b"x" * 8192 if "form" in content_type else b'{"name": "' + b"x" * 8192 + b'"}'

    response = browser.generic("POST", "/api/v1/tokens/", body, content_type=content_type)

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert not ApiToken.objects.exists()


def test_a_definition_just_under_the_limit_is_read(owner, components, small_limits):
    api = as_user(APIClient(), owner)
    padding = "x" * 1800

    response = api.post("/api/v1/validate", {"id": "padded", "description": padding}, format="json")

    assert response.status_code == 200
    assert not Workflow.objects.exists()
