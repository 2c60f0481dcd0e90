"""Credentials at rest: Fernet under OAWEB_SECRETS_KEY, rotated by a command, and what happens without a key."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError

from workflows.alerts import actions as alert_actions
from workflows.credentials import actions, crypto
from workflows.credentials.models import Credential

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def make(team, name="api", token="tok-old-value"):
    return actions.create(team, name, "bearer", {"token": token})


def test_values_are_stored_encrypted_and_read_back(team, settings):
    settings.OAWEB_SECRETS_KEY = [OLD]
    credential = make(team, token="plain-token-1234")

    stored = Credential.objects.values_list("ciphertext", flat=True).get()
    assert "plain-token-1234" not in stored
    assert Fernet(OLD).decrypt(stored.encode()) == b'{"token":"plain-token-1234"}'
    assert Credential.objects.get(pk=credential.pk).values() == {"token": "plain-token-1234"}


def test_key_rotation_keeps_every_credential_usable(team, other_team, settings):
    settings.OAWEB_SECRETS_KEY = [OLD]
    tokens = {f"api{number}": f"token-{number}-value" for number in range(3)}
    for name, token in tokens.items():
        make(team if name != "api2" else other_team, name, token)
    channel, secret = alert_actions.create_channel(team, name="hook", kind="webhook", url="https://hooks.example/x")

    settings.OAWEB_SECRETS_KEY = [NEW, OLD]  # the new key first: it encrypts, both decrypt
    call_command("rotate_secrets_key", stdout=io.StringIO())
    settings.OAWEB_SECRETS_KEY = [NEW]  # the old key is gone

    assert {c.name: c.values()["token"] for c in Credential.objects.all()} == tokens
    channel.refresh_from_db()
    assert channel.signing_secret() == secret
    for stored in Credential.objects.values_list("ciphertext", flat=True):
        Fernet(NEW).decrypt(stored.encode())  # each one now under the new key
    settings.OAWEB_SECRETS_KEY = [OLD]
    with pytest.raises(crypto.Undecryptable):
        Credential.objects.first().values()


def test_the_command_names_what_no_key_opens(team, settings):
    settings.OAWEB_SECRETS_KEY = [OLD]
    make(team, "lost")
    settings.OAWEB_SECRETS_KEY = [NEW]
    settings.SECRET_KEY = "another-secret-key-so-the-derived-key-differs"

    with pytest.raises(CommandError, match="credential 'lost'"):
        call_command("rotate_secrets_key", stdout=io.StringIO())


def test_without_a_key_the_secret_key_derives_one_in_embedded_or_debug_mode(team, settings):
    settings.OAWEB_SECRETS_KEY = []
    settings.EMBEDDED, settings.DEBUG = True, False
    credential = make(team)

    assert credential.values() == {"token": "tok-old-value"}
    settings.OAWEB_SECRETS_KEY = [NEW]  # set later: the derived key still decrypts, until rotate_secrets_key
    assert Credential.objects.get().values() == {"token": "tok-old-value"}


def test_distributed_and_not_debug_without_a_key_nothing_is_saved_and_check_warns(team, settings):
    settings.OAWEB_SECRETS_KEY = []
    settings.EMBEDDED, settings.DEBUG = False, False

    with pytest.raises(actions.CredentialRefused, match="OAWEB_SECRETS_KEY is not set"):
        make(team)
    with pytest.raises(alert_actions.AlertRefused, match="OAWEB_SECRETS_KEY is not set"):
        alert_actions.create_channel(team, name="hook", kind="webhook", url="https://hooks.example/x")
    assert not Credential.objects.exists()
    assert [problem.id for problem in crypto.check_secrets_key_set(None)] == ["workflows.W021"]  # check --deploy


def test_a_malformed_key_is_a_check_error(settings):
    settings.OAWEB_SECRETS_KEY = [NEW, "not-a-key"]

    [problem] = crypto.check_secrets_key(None)

    assert problem.id == "workflows.E020" and "key 2" in problem.msg


def test_the_command_prints_a_new_key(capsys):
    call_command("rotate_secrets_key", "--new-key")

    Fernet(capsys.readouterr().out.strip())  # a usable key
