"""Reading JSON strictly: one reader for every door (API, webhooks, editor, pages, CLI).

`loads` parses text and refuses what json.loads lets through but PostgreSQL
(or UTF-8) can't hold: NaN, Infinity and literals such as 1e400 that
overflow to infinity; lone surrogates (a "\\udfff" escape without its
pair), which can't be encoded as UTF-8; NUL characters; integers over
Python's limit (4,300 digits unless set otherwise), whose ValueError would
not say where they are. Each is a Refused naming the JSON Pointer (RFC 6901)
of the value. `check_value` is the same check for values that came in some
other way.

`read_json` reads a request body with it: too large (413), not UTF-8,
malformed, nested too deep or holding a refused value: each a BodyError
naming the problem, never a traceback.
"""

import json
import math
import re
import sys
from dataclasses import dataclass

from django.conf import settings

from workflows.definitions.references import escape_pointer

# Bodies may nest a little deeper than definitions: a definition sits inside {"definition": ...}.
EXTRA_DEPTH = 4

INVALID_VALUE = "invalid_value"
TOO_DEEP = "too_deep"

# Characters no stored string may hold: NUL, and the surrogate range (a pair
# of escapes becomes one character; only a lone half stays in this range).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_NUL_PROBLEM = "holds a NUL (\\u0000) character, which PostgreSQL can't store"
_NOT_FINITE = "is not a finite number (JSON has no NaN or Infinity, nor numbers like 1e400 that overflow)"


class BodyError(Exception):
    def __init__(self, status: int, code: str, detail: str, pointer: str | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.pointer = pointer  # where in the body the refused value is, when one is


class Refused(ValueError):
    """Well-formed JSON holding a value oaweb won't take; `pointer` (RFC 6901) says where."""

    def __init__(self, code: str, problem: str, pointer: str = ""):
        super().__init__(f"{pointer}: {problem}" if pointer else problem)
        self.code, self.problem, self.pointer = code, problem, pointer


def loads(text: str, max_depth: int | None = None):
    """The value of JSON `text`; raises json.JSONDecodeError (malformed) or Refused."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:
        # An integer over Python's digit limit (sys.set_int_max_str_digits).
        # Rare, so only now parse again with a hook that marks such integers,
        # for check_value to say where.
        value = _loads_marking_long_integers(text)
    except RecursionError:
        raise Refused(TOO_DEEP, "the JSON is nested too deeply") from None
    check_value(value, max_depth)
    return value


@dataclass(frozen=True)
class _LongInteger:
    digits: int
    limit: int


def _loads_marking_long_integers(text: str):
    limit = sys.get_int_max_str_digits()

    def parse_int(literal: str):
        digits = len(literal) - literal.startswith("-")
        return _LongInteger(digits, limit) if digits > limit else int(literal)

    try:
        return json.loads(text, parse_int=parse_int)
    except RecursionError:
        raise Refused(TOO_DEEP, "the JSON is nested too deeply") from None


def check_value(value, max_depth: int | None = None) -> None:
    """Raise Refused for the first value (in document order) that can't be stored, or nesting over `max_depth`.

    One pass with an explicit stack (no recursion), and the pointer is only
    built for a refusal: a large body costs one type check per value.
    """
    problem = _scalar_problem(value)
    if problem is not None:
        raise Refused(INVALID_VALUE, problem)
    if not isinstance(value, dict | list):
        return
    path: list = []  # keys from `value` to the container being walked
    _check_keys(value, path)
    stack = [_children(value)]
    while stack:
        for key, child in stack[-1]:
            kind = type(child)
            # Fast paths first, for the values almost every document is made of.
            if kind is str:
                if child.isascii() and "\x00" not in child:
                    continue
            elif kind is int or kind is bool or child is None:
                continue
            elif kind is dict or kind is list or isinstance(child, dict | list):
                if max_depth is not None and len(stack) >= max_depth:
                    raise Refused(TOO_DEEP, f"lists and objects nest more than {max_depth} levels deep")
                path.append(key)
                _check_keys(child, path)
                stack.append(_children(child))
                break
            problem = _scalar_problem(child)
            if problem is not None:
                raise Refused(INVALID_VALUE, problem, _pointer([*path, key]))
        else:
            stack.pop()
            if path:
                path.pop()


def _children(container):
    return iter(container.items()) if isinstance(container, dict) else enumerate(container)


def _check_keys(container, path: list) -> None:
    # A bad key can't be written in a UTF-8 answer: the pointer names its object.
    if isinstance(container, dict):
        for key in container:
            if type(key) is not str or (key.isascii() and "\x00" not in key):
                continue
            problem = _text_problem(key)
            if problem is not None:
                raise Refused(INVALID_VALUE, f"a key {problem}", _pointer(path))


def _scalar_problem(value) -> str | None:
    if isinstance(value, str):
        problem = _text_problem(value)
        return None if problem is None else f"a string {problem}"
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        shown = "NaN" if math.isnan(value) else ("-Infinity" if value < 0 else "Infinity")
        return f"{shown} {_NOT_FINITE}"
    if isinstance(value, _LongInteger):
        return f"an integer of {value.digits:,} digits is over the limit of {value.limit:,} digits"
    return None


def _text_problem(text: str) -> str | None:
    if text.isascii():  # the usual case, and a fast one: only NUL to look for
        return _NUL_PROBLEM if "\x00" in text else None
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return _NUL_PROBLEM
    return f"holds a lone surrogate (\\u{ord(found.group()):04x} without its pair), which isn't valid UTF-8"


def _pointer(keys: list) -> str:
    return "".join(f"/{escape_pointer(key)}" for key in keys)


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
        return loads(text, settings.OAWEB_MAX_DEFINITION_DEPTH + EXTRA_DEPTH)
    except json.JSONDecodeError as exc:
        detail = f"malformed JSON: {where_json_broke(exc)}"
        raise BodyError(400, "parse_error", detail) from None
    except Refused as refused:
        if refused.code == TOO_DEEP:
            raise BodyError(400, TOO_DEEP, "the JSON body is nested too deeply") from None
        raise BodyError(400, refused.code, str(refused), refused.pointer) from None


def where_json_broke(exc) -> str:
    """json's message and where: "Unterminated string starting at line 9 column 5".

    Some of json's messages end in "at" already ("Unterminated string
    starting at"): adding our own "at" would say it twice.
    """
    message = exc.msg.removesuffix(" at")
    return f"{message} at line {exc.lineno} column {exc.colno}"
