"""The alerts tests: the credentials tests' key (a webhook channel's signing secret is encrypted with it)."""

from tests.credentials.conftest import secrets_key  # noqa: F401  (an autouse fixture)
