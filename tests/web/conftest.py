"""Logged-in clients for the page tests."""

import pytest
from django.test import Client


@pytest.fixture
def login():
    """login(user) -> a Client with that user's session."""

    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def owner_client(login, owner):
    return login(owner)


@pytest.fixture
def outsider_client(login, outsider):
    return login(outsider)
