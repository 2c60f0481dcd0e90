"""One Fernet key for the credentials tests, in this process and the processes they start.

In distributed mode with DEBUG off no key is derived from SECRET_KEY (crypto.py):
the runworker processes and the live server read this one from the environment,
which they inherit, and this process's settings get the same.
"""

import os

import pytest

TEST_KEY = "u4rjS8ReOXGVx0fg-9E8O0yDhx0C7zl2UENqWGuz9Ks="
os.environ.setdefault("OAWEB_SECRETS_KEY", TEST_KEY)


@pytest.fixture(autouse=True)
def secrets_key(settings):
    settings.OAWEB_SECRETS_KEY = [os.environ["OAWEB_SECRETS_KEY"]]
