"""Reading a JSON request body defensively: one reader for the API and the webhooks.

Too large (413), not UTF-8, malformed, nested too deep or holding NUL
characters (which PostgreSQL can't store): each a BodyError naming the
problem, never a traceback.
"""

import json

from django.conf import settings

from workflows.validation import nesting_exceeds

# Bodies may nest a little deeper than definitions: a definition sits inside {"definition": ...}.
EXTRA_DEPTH = 4


class BodyError(Exception):
    def __init__(self, status: int, code: str, detail: str):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def check_declared_size(content_length) -> None:
    """413 from the Content-Length header alone, before anything reads the body."""
    limit = settings.OAWEB_API_MAX_BODY_BYTES
    if content_length and str(content_length).isdigit() and int(content_length) > limit:
        raise BodyError(413, "too_large", f"the request body is {content_length} bytes; the limit is {limit}")


def read_json(stream, content_length=None, empty=None):
    """The parsed body of `stream` (read at most one byte past the limit); `empty` for a blank body."""
    limit = settings.OAWEB_API_MAX_BODY_BYTES
    check_declared_size(content_length)
    raw = stream.read(limit + 1) if stream is not None else b""
    if len(raw) > limit:
        raise BodyError(413, "too_large", f"the request body is over the limit of {limit} bytes")
    if empty is not None and not raw.strip():
        return empty
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(400, "not_utf8", f"the body is not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        detail = f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise BodyError(400, "parse_error", detail) from None
    except RecursionError:
        raise BodyError(400, "too_deep", "the JSON body is nested too deeply") from None
    if nesting_exceeds(value, settings.OAWEB_MAX_DEFINITION_DEPTH + EXTRA_DEPTH):
        raise BodyError(400, "too_deep", "the JSON body is nested too deeply")
    if holds_nul(value):
        raise BodyError(400, "parse_error", "strings may not contain NUL (\\u0000) characters")
    return value


def holds_nul(value) -> bool:
    """Whether any string (or key) holds U+0000, which PostgreSQL can't store in text or JSON."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
