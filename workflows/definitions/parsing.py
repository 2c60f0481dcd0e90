"""Reading a definition's JSON text, and the size and depth limits a definition must keep."""

import json

from django.conf import settings

from workflows.definitions import strict_json
from workflows.definitions.issues import Issue, as_dicts, make_issue


def parse_definition(raw: bytes | str) -> tuple[object | None, list[dict]]:
    """Parse JSON text with guards: (value, []) or (None, [one issue as a dict]).

    read_definition, with its issue as JSON-facing callers take it (Issue.as_dict).
    """
    value, issues = read_definition(raw)
    return value, as_dicts(issues)


def read_definition(raw: bytes | str) -> tuple[object | None, list[Issue]]:
    """Parse JSON text with guards: (value, []) or (None, [one Issue]).

    The size is checked before parsing; the nesting depth after, and
    json.loads' own RecursionError on absurd nesting becomes an issue too.
    The text is read by the same strict reader as request bodies
    (workflows/definitions/strict_json.py): a value it refuses (NaN, a lone surrogate...)
    is an invalid_json issue whose path points at the value.
    """
    limit = settings.OAWEB_MAX_DEFINITION_BYTES
    if isinstance(raw, bytes | bytearray | memoryview):
        size = len(raw)
        if size > limit:
            return None, [too_large(size, limit)]
        try:
            text = bytes(raw).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return None, [
                make_issue("invalid_json", f"the definition is not UTF-8 text: {exc.reason} at byte {exc.start}")
            ]
    elif isinstance(raw, str):
        # A character is at least one byte: skip encoding what is surely too large.
        size = len(raw) if len(raw) > limit else len(raw.encode("utf-8", "surrogatepass"))
        if size > limit:
            return None, [too_large(size, limit)]
        text = raw
    else:
        raise TypeError(f"parse_definition expects bytes or str, not {type(raw).__name__}")
    try:
        value = strict_json.loads(text, settings.OAWEB_MAX_DEFINITION_DEPTH)
    except json.JSONDecodeError as exc:
        return None, [make_issue("invalid_json", f"not valid JSON: {strict_json.where_json_broke(exc)}")]
    except strict_json.Refused as refused:
        if refused.code == strict_json.TOO_DEEP:
            return None, [too_deep()]
        return None, [make_issue("invalid_json", refused.problem, refused.pointer)]
    return value, []


def too_large(size: int, limit: int) -> Issue:
    return make_issue(
        "too_large",
        f"the definition is {size:,} bytes; at most {limit:,} are accepted",
        suggestion="split the workflow, or raise OAWEB_MAX_DEFINITION_BYTES",
    )


def too_deep(path: str = "") -> Issue:
    limit = settings.OAWEB_MAX_DEFINITION_DEPTH
    where = "the definition" if not path else f"the value at {path}"
    return make_issue(
        "too_deep",
        f"{where} nests lists and objects more than {limit} levels deep (counted from the top of the definition)",
        path,
        suggestion="flatten the nested values, or raise OAWEB_MAX_DEFINITION_DEPTH",
    )


def nesting_exceeds(value, limit: int) -> bool:
    """Whether lists and objects nest deeper than `limit` (an explicit stack, no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
