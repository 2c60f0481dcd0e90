"""workflows/redaction.py: what is masked, what is left alone, and the logging filter that applies it."""

import logging
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from workflows import tokens
from workflows.redaction import (
    KEPT_CHARS,
    MASK,
    TOKEN_PREFIXES,
    RedactingFilter,
    redact,
    redact_daphne_access_log,
    redact_data,
)
from workflows.triggers import models as triggers

ROOT = Path(__file__).resolve().parent.parent.parent
API_TOKEN = "oat_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde"
HOOK_TOKEN = "owh_ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210_-zyxwv"


# --- tokens --------------------------------------------------------------------------


def test_the_prefixes_are_the_kinds_of_token_oaweb_issues():
    assert set(TOKEN_PREFIXES) == {tokens.TOKEN_PREFIX, triggers.TOKEN_PREFIX}
    assert KEPT_CHARS == tokens.DISPLAY_CHARS == triggers.TOKEN_DISPLAY_CHARS


def test_tokens_keep_the_prefix_the_lists_show():
    text = f"Authorization: Bearer {API_TOKEN} for /api/v1/runs/ and ?t={HOOK_TOKEN}&x=1"

    assert redact(text) == f"Authorization: Bearer oat_AbCdEfGh{MASK} for /api/v1/runs/ and ?t=owh_ZyXwVuTs{MASK}&x=1"


@pytest.mark.django_db
def test_issued_tokens_become_their_stored_prefix(make_workflow, owner):
    api_token, api_secret = tokens.ApiToken.issue(owner)
    trigger, hook_secret = triggers.WebhookTrigger.create(make_workflow())

    assert redact(api_secret) == api_token.prefix + MASK
    assert redact(hook_secret) == trigger.token_prefix + MASK


def test_whatever_follows_hooks_is_shortened_even_when_not_token_shaped():
    assert redact("POST /hooks/owh%5FAbCdEfGhIjKlMnOp/ 404") == f"POST /hooks/owh%5FAbCdEf{MASK}/ 404"
    assert redact("/hooks/wh_AbCdEfGhIjKlMnOp/?x=1") == f"/hooks/wh_AbCdEfGhI{MASK}/?x=1"


def test_short_strings_are_no_secret_and_stay():
    assert redact("/hooks/nope/ and owh_short") == "/hooks/nope/ and owh_short"


# --- URL credentials ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("GET http://user:secret@host:8080/x failed", f"GET http://{MASK}@host:8080/x failed"),
        ("https://ghp_token@github.com/acme/repo.git", f"https://{MASK}@github.com/acme/repo.git"),
        ("redis://:p%40ss@redis.internal:6379/0", f"redis://{MASK}@redis.internal:6379/0"),
        ("postgres://u:p@ss@db/x", f"postgres://{MASK}@db/x"),  # a raw "@" in the password
        ("'http://a:b@one/' then 'ftp://c:d@two/'", f"'http://{MASK}@one/' then 'ftp://{MASK}@two/'"),
    ],
)
def test_url_credentials_are_masked(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "https://api.example.com/v1?to=a@b.example",  # an "@" in the query is no user information
        "mail bob@example.com about http://example.com/x",
        '{"url":"http://host","email":"a@b.example"}',  # compact JSON: the quote ends the URL
        "no url here: user:pw@host",
    ],
)
def test_text_without_url_credentials_is_left_alone(text):
    assert redact(text) == text


def test_redacting_twice_changes_nothing_more():
    text = f"GET http://u:p@h/hooks/{HOOK_TOKEN}/ with {API_TOKEN}"
    once = redact(text)

    assert redact(once) == once


def test_redact_data_masks_strings_at_any_depth_and_leaves_the_rest():
    value = {"url": "http://u:p@h/", "n": 3, "ok": True, "none": None, "list": [{"t": API_TOKEN}, 1.5]}

    assert redact_data(value) == {
        "url": f"http://{MASK}@h/",
        "n": 3,
        "ok": True,
        "none": None,
        "list": [{"t": f"oat_AbCdEfGh{MASK}"}, 1.5],
    }
    assert value["url"] == "http://u:p@h/"  # a copy: the original is untouched


# --- the logging filter --------------------------------------------------------------


def record(msg, *args, exc_info=None, stack_info=None) -> logging.LogRecord:
    return logging.LogRecord("django.request", logging.WARNING, __file__, 1, msg, args, exc_info, None, stack_info)


def test_the_filter_redacts_the_formatted_message():
    entry = record("Not Found: %s", f"/hooks/{HOOK_TOKEN}/")

    assert RedactingFilter().filter(entry) is True
    assert entry.getMessage() == f"Not Found: /hooks/owh_ZyXwVuTs{MASK}/"


def test_the_filter_redacts_tracebacks_and_stacks():
    try:
        raise ValueError(f"cannot reach http://u:topsecret@host/ with {API_TOKEN}")
    except ValueError:
        entry = record("step failed", exc_info=sys.exc_info(), stack_info=f"Stack: {API_TOKEN}")

    RedactingFilter().filter(entry)
    printed = logging.Formatter().format(entry)

    assert "topsecret" not in printed and API_TOKEN not in printed
    assert f"http://{MASK}@host/" in printed and "ValueError" in printed


def test_a_broken_record_passes_unchanged_for_its_handler_to_report():
    entry = record("%d items", "not a number")

    assert RedactingFilter().filter(entry) is True
    assert entry.msg == "%d items"


@pytest.mark.parametrize("debug", ["false", "true"])
def test_settings_logging_redacts_djangos_request_warnings(debug):
    """Through the project's LOGGING, as a server process configures it (DEBUG on adds Django's own handlers)."""
    code = (
        "import django, logging; django.setup(); "
        f"logging.getLogger('django.request').warning('Not Found: %s', '/hooks/{HOOK_TOKEN}/')"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oaweb.settings",
        "DEBUG": debug,
        "SECRET_KEY": "insecure-test-only-key",
    }
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stderr.count(f"Not Found: /hooks/owh_ZyXwVuTs{MASK}/") == 1
    assert HOOK_TOKEN[KEPT_CHARS:] not in result.stderr + result.stdout


# --- daphne's access log ---------------------------------------------------------------


def test_daphne_servers_pass_redacted_paths_to_their_access_log():
    from daphne.server import Server

    redact_daphne_access_log()
    redact_daphne_access_log()  # oaweb.asgi may be imported twice: wrapped once
    logged = []
    server = SimpleNamespace(action_logger=lambda *entry: logged.append(entry))
    details = {"path": f"/hooks/{HOOK_TOKEN}/", "status": 404}

    Server.log_action(server, "http", "complete", details)

    assert logged == [("http", "complete", {"path": f"/hooks/owh_ZyXwVuTs{MASK}/", "status": 404})]
    assert details["path"] == f"/hooks/{HOOK_TOKEN}/"  # daphne's own dict is untouched
    assert not hasattr(Server.log_action.__wrapped__, "__wrapped__")
