"""The kinds of credential: each a JSON Schema of its fields, and which fields are secret.

Pure data and checks: no database. A secret field's value is masked (`•••`)
wherever it could show; the other fields (a user name, a header's name, an
endpoint's URL) are settings, which the Credentials page shows. Every value
is encrypted at rest all the same (crypto.py).
"""

from dataclasses import dataclass

import fastjsonschema

from workflows.secret_masks import MIN_CHARS

MAX_VALUE_CHARS = 8192


def _secret(description: str) -> dict:
    return {"type": "string", "minLength": MIN_CHARS, "maxLength": MAX_VALUE_CHARS, "description": description}


def _setting(description: str, **extra) -> dict:
    return {"type": "string", "minLength": 1, "maxLength": 2048, "description": description, **extra}


@dataclass(frozen=True)
class CredentialType:
    kind: str
    label: str
    description: str
    schema: dict  # JSON Schema of the fields
    secret: frozenset[str]  # the fields whose values are secret

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.schema["properties"])

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(self.schema.get("required", ()))

    def settings_of(self, values: dict) -> dict:
        """The values that are not secret (shown on the page and in the API)."""
        return {name: value for name, value in values.items() if name not in self.secret}


def _type(kind, label, description, properties, required, secret) -> CredentialType:
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    return CredentialType(kind, label, description, schema, frozenset(secret))


TYPES: dict[str, CredentialType] = {
    credential_type.kind: credential_type
    for credential_type in (
        _type(
            "bearer",
            "HTTP bearer token",
            "Sent as Authorization: Bearer <token> (http.request's credential input).",
            {"token": _secret("the token")},
            ["token"],
            ["token"],
        ),
        _type(
            "basic",
            "HTTP basic auth",
            "A user name and password (http.request's credential input).",
            {"username": _setting("the user name"), "password": _secret("the password")},
            ["username", "password"],
            ["password"],
        ),
        _type(
            "header",
            "API key header",
            "A header such as X-API-Key: <value> (http.request's credential input).",
            {
                "header": _setting("the header's name", pattern="^[A-Za-z0-9!#%&'*+.^_`|~-]+$"),
                "value": _secret("the header's value"),
            },
            ["header", "value"],
            ["value"],
        ),
        _type(
            "openai",
            "OpenAI-compatible endpoint",
            "An API key, and optionally the endpoint and model (llm.chat's credential input).",
            {
                "api_key": _secret("the API key"),
                "base_url": _setting("e.g. https://api.openai.com/v1 (else OAWEB_LLM_BASE_URL)", pattern="^https?://"),
                "model": _setting("the model to use when the step names none"),
            },
            ["api_key"],
            ["api_key"],
        ),
        _type(
            "secret",
            "Secret value",
            "Any one secret, read as {{ secrets.NAME.value }}.",
            {"value": _secret("the secret")},
            ["value"],
            ["value"],
        ),
    )
}

KIND_CHOICES = [(kind, credential_type.label) for kind, credential_type in TYPES.items()]

_validators = {kind: fastjsonschema.compile(credential_type.schema) for kind, credential_type in TYPES.items()}


class BadValues(ValueError):
    """Values that don't fit their credential type; the message names the field, never its value."""


def check_values(kind: str, values) -> dict:
    """The values, checked against the type's schema; raises BadValues."""
    if kind not in TYPES:
        raise BadValues(f"unknown credential type {kind!r}: one of {', '.join(TYPES)}")
    if not isinstance(values, dict):
        raise BadValues("values must be an object of the type's fields")
    try:
        return _validators[kind](values)
    except fastjsonschema.JsonSchemaValueException as exc:
        # fastjsonschema's messages name the place ("data.token must be longer than ...") and the rule, not the value.
        raise BadValues(exc.message.replace("data.", "", 1).replace("data ", "values ", 1)) from None
