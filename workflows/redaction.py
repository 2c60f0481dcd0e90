"""Secrets kept out of what people read: logs, step errors, and inputs and outputs on screen.

What is masked, wherever `redact` is applied:
* oaweb's own tokens, API (`oat_…`) and webhook (`owh_…`): the first 12
  characters stay, the same prefix the token and webhook lists show, so a
  log line can still be matched to its token; the rest becomes `***`;
* whatever follows `/hooks/` (or `/approvals/`, a signed approval link) in a
  path, token-shaped or not: a mistyped or percent-encoded token (`owh%5F…`,
  which daphne logs undecoded) is still most of a secret;
* a URL's user information: `https://user:pw@host/` becomes `https://***@host/`;
* issue 20: the values of credentials a step attempt of this process holds
  become `•••` (workflows/secret_masks.py).

Where: every log record (RedactingFilter, on the handler in settings.LOGGING),
daphne's access log (`redact_daphne_access_log`, from oaweb/asgi.py), step
errors when recorded (workflows/execution/attempts.py), and inputs and
outputs when shown (the run pages and the API). The database keeps inputs
and outputs whole: a later step or a re-run may need them.
"""

import functools
import logging
import re

from workflows.secret_masks import masks as secret_masks

# The kinds of token oaweb issues (workflows/tokens.py, workflows/triggers/models.py; a test keeps them in step).
# Not imported from there: logging is configured before the apps load, and those modules define models.
TOKEN_PREFIXES = ("oat_", "owh_")
# As many characters as the token and webhook lists show (tokens.DISPLAY_CHARS, triggers.TOKEN_DISPLAY_CHARS).
KEPT_CHARS = 12
# ASCII: a log stream in a non-UTF-8 locale can write it.
MASK = "***"

_TOKEN = re.compile("(?:" + "|".join(map(re.escape, TOKEN_PREFIXES)) + r")[A-Za-z0-9_\-]+")
_HOOK_PATH = re.compile(r"(/hooks/|/approvals/)([^/?#\s\"'<>]+)")
# Greedy up to the authority's last "@" (a password may hold a raw "@"); quotes and brackets end
# it, so that JSON text like {"u":"http://host","e":"a@b"} is left alone.
# The scheme starts where a run of scheme characters starts, and is at most 32 long: tried at every
# position of a long word, an unbounded scheme made a 100 KB output take seconds (quadratic).
_USERINFO = re.compile(r"(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]{0,31}://)[^/?#\s\"'<>\\]*@")


def _shorten(secret: str) -> str:
    return secret if len(secret) <= KEPT_CHARS else secret[:KEPT_CHARS] + MASK


def redact(text: str) -> str:
    """`text` with tokens shortened and URL credentials masked; applying it twice changes nothing more."""
    text = secret_masks.mask(text)  # issue 20: credentials held by this process's attempts
    text = _USERINFO.sub(lambda match: match.group(1) + MASK + "@", text)
    text = _HOOK_PATH.sub(lambda match: match.group(1) + _shorten(match.group(2)), text)
    return _TOKEN.sub(lambda match: _shorten(match.group(0)), text)


def redact_data(value):
    """A copy of JSON-like `value` with every string in it redacted (keys are names, left alone)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_data(item) for item in value]
    return value


class RedactingFilter(logging.Filter):
    """Redacts a record's message, traceback and stack before a handler formats it.

    On a handler, it sees every record that handler prints, from any logger
    that propagates to it. The record itself is changed, so any other handler
    it reaches prints the redacted text too.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True  # a broken record: the handler reports it as it would have
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            # What the handler's formatter would write (Formatter.format keeps an exc_text already set).
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def redact_daphne_access_log() -> None:
    """Make daphne's access log redact the paths it prints.

    daphne writes that log to a stream itself (stdout, or --access-log FILE),
    not through logging, so the LOGGING filter never sees it. Every line of
    it, and of `runserver`'s log, is made from the details daphne's server
    passes to `Server.log_action`: that one method is wrapped. oaweb/asgi.py
    calls this, which daphne imports before it serves, however started.
    """
    from daphne.server import Server

    original = Server.log_action
    if getattr(original, "redacts", False):
        return

    @functools.wraps(original)
    def log_action(self, protocol, action, details):
        if isinstance(details.get("path"), str):
            details = {**details, "path": redact(details["path"])}
        return original(self, protocol, action, details)

    log_action.redacts = True
    Server.log_action = log_action
