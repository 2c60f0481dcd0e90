import pytest
from rest_framework.test import APIClient

from workflows.tokens import ApiToken


@pytest.fixture
def api():
    return APIClient()


def as_user(client: APIClient, user) -> APIClient:
    """Authenticate with a real API token of `user` (the way programs do)."""
    _, secret = ApiToken.issue(user, "test")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def owner_api(api, owner):
    return as_user(api, owner)


@pytest.fixture
def outsider_api(outsider):
    return as_user(APIClient(), outsider)
