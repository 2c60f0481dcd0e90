"""The keys that encrypt credentials (and alert channels' signing secrets) at rest: Fernet, through MultiFernet.

OAWEB_SECRETS_KEY holds one or more Fernet keys, comma-separated: the first
encrypts, every one decrypts, so a key is rotated by putting the new one
first and running `manage.py rotate_secrets_key`, which re-encrypts every
value under it; the old key can then go.

Without OAWEB_SECRETS_KEY, in DEBUG or embedded mode (`make run`), the key is
derived from SECRET_KEY (HMAC-SHA256 of a fixed label): it works with nothing
to set, but changing SECRET_KEY then makes the stored values unreadable. In
distributed mode with DEBUG off no key is derived: saving a credential is
refused, and `manage.py check` (which runworker and migrate run) warns. The
derived key always decrypts, after the configured ones, so values saved
before OAWEB_SECRETS_KEY was set stay readable until rotate_secrets_key
re-encrypts them. docs/credentials.md.
"""

import base64
import hashlib
import hmac
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks

SETTING = "OAWEB_SECRETS_KEY"
DERIVATION_LABEL = b"oaweb credentials key v1"


class KeyMissing(Exception):
    """No key to encrypt with: OAWEB_SECRETS_KEY is not set (distributed mode, DEBUG off)."""

    def __init__(self):
        super().__init__(f"{SETTING} is not set: set it to a Fernet key to save credentials (docs/credentials.md)")


class Undecryptable(Exception):
    """A stored value none of the keys opens (a key was removed before rotate_secrets_key ran)."""


def new_key() -> str:
    return Fernet.generate_key().decode()


def derived_key() -> bytes:
    digest = hmac.new(settings.SECRET_KEY.encode(), DERIVATION_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest)


def configured_keys() -> list[str]:
    keys = getattr(settings, SETTING, None) or []
    return [keys] if isinstance(keys, str) else list(keys)


def may_derive() -> bool:
    return bool(settings.DEBUG or settings.EMBEDDED)


_built: dict[tuple, tuple[Fernet | None, MultiFernet]] = {}


def _fernets() -> tuple[Fernet | None, MultiFernet]:
    """(the encrypting key or None, every key that decrypts), built once per configuration."""
    state = (tuple(configured_keys()), settings.SECRET_KEY, may_derive())
    built = _built.get(state)
    if built is None:
        configured = [Fernet(key) for key in state[0]]
        derived = Fernet(derived_key())
        encrypting = configured[0] if configured else (derived if state[2] else None)
        built = (encrypting, MultiFernet([*configured, derived]))
        _built.clear()  # one configuration at a time (tests change settings)
        _built[state] = built
    return built


def can_encrypt() -> bool:
    return _fernets()[0] is not None


def encrypt(values: dict) -> str:
    """The values as a Fernet token (text), under the first key; KeyMissing when there is none."""
    encrypting, _ = _fernets()
    if encrypting is None:
        raise KeyMissing()
    return encrypting.encrypt(json.dumps(values, separators=(",", ":")).encode()).decode()


def decrypt(token: str) -> dict:
    try:
        return json.loads(_fernets()[1].decrypt(token.encode()))
    except InvalidToken:
        raise Undecryptable(f"none of the keys ({SETTING}, or the one derived from SECRET_KEY) opens it") from None


def reencrypt(token: str) -> str:
    """The same values under the first key (rotate_secrets_key)."""
    return encrypt(decrypt(token))


# --- system checks ------------------------------------------------------------


@checks.register()
def check_secrets_key(app_configs, **kwargs):
    problems = []
    for number, key in enumerate(configured_keys(), start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            problems.append(
                checks.Error(
                    f"{SETTING}: key {number} is not a Fernet key (32 bytes, URL-safe base64)",
                    hint="make one with: python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'",
                    id="workflows.E020",
                )
            )
    return problems


# A deployment check (`manage.py check --deploy`): as a plain check it printed its warning
# before every command's output, the CLI's one-line outage message included.
@checks.register(deploy=True)
def check_secrets_key_set(app_configs, **kwargs):
    problems = []
    if not configured_keys() and not may_derive():
        problems.append(
            checks.Warning(
                f"{SETTING} is not set: credentials and alert webhooks can't be saved",
                hint="set it to a Fernet key, the same on every web and worker machine (docs/credentials.md)",
                id="workflows.W021",
            )
        )
    return problems
