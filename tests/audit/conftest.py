"""The audit tests make credentials and webhook channels: the credentials tests' key."""

from tests.credentials.conftest import secrets_key  # noqa: F401  (an autouse fixture)
