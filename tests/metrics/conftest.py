import pytest
from django.test import Client

from tests.conftest import noop_definition


@pytest.fixture
def login():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def workflow(make_workflow):
    """`hello`, owned by `team` (the owner's)."""
    return make_workflow(noop_definition("hello"))
