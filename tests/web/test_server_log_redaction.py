"""A real daphne serving oaweb.asgi prints no webhook token: not in its access log, not in Django's warnings.

daphne writes its access log to stdout itself, past the logging configuration,
so only a real server started the documented way (`python -m daphne ...
oaweb.asgi:application`) shows what an operator's log would hold.
"""

import secrets
import time
import urllib.error
import urllib.request

import pytest

from tests.server import LiveServer
from workflows.redaction import KEPT_CHARS, MASK
from workflows.triggers.models import TOKEN_PREFIX, WebhookTrigger

pytestmark = pytest.mark.slow  # starts a server: a few seconds


def post(url: str, body: bytes = b"{}") -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wait_for_lines(server: LiveServer, *needles: str, timeout: float = 10) -> str:
    """The server's output once each needle is in it (the access log line follows the response)."""
    deadline = time.monotonic() + timeout
    while True:
        output = "\n".join(server.output)
        if all(needle in output for needle in needles) or time.monotonic() > deadline:
            return output
        time.sleep(0.05)


def test_daphne_prints_no_webhook_token(transactional_db, make_workflow):
    _, token = WebhookTrigger.create(make_workflow())
    wrong = TOKEN_PREFIX + secrets.token_urlsafe(32)
    encoded = "owh%5F" + secrets.token_urlsafe(32)  # Django decodes it to an owh_ token; the access log doesn't
    server = LiveServer(extra_env={"OAWEB_API_MAX_BODY_BYTES": "1024"})
    try:
        assert post(f"{server.url}/hooks/{wrong}/") == 404
        assert post(f"{server.url}/hooks/{encoded}/") == 404
        assert post(f"{server.url}/hooks/{token}/", b" " * 4096) == 413
        output = wait_for_lines(server, "Request Entity Too Large", " 413 ")
    finally:
        server.stop()

    assert "Not Found: /hooks/" in output and "Request Entity Too Large: /hooks/" in output  # Django's warnings
    assert '"POST /hooks/' in output  # daphne's access log
    for secret in (token, wrong, encoded, encoded[6:]):
        assert secret[KEPT_CHARS:] not in output
    # What is left is the prefix the webhook list shows, enough to tell which token a line is about.
    assert f"/hooks/{token[:KEPT_CHARS]}{MASK}/" in output
