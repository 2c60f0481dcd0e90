"""json.pick: one value out of a JSON document.

(Not named json.py: that would shadow the standard library's json module
for anything importing it relatively.)
"""

from registry.catalog import ComponentError, component

# Tells "no default given" apart from a default of null.
MISSING = object()


def split_path(path: str) -> list[str]:
    """The keys of a dot path (`a.b.0`) or a JSON Pointer (`/a/b/0`).

    An empty path means the whole document. JSON Pointer escapes `~1` (for
    `/`) and `~0` (for `~`) are decoded; a key holding a dot needs a pointer.
    """
    if path == "":
        return []
    if path.startswith("/"):
        return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]
    return path.split(".")


def pick(data, keys: list[str]):
    """Follow `keys` into `data`; raise LookupError naming where it stopped."""
    value = data
    for depth, key in enumerate(keys):
        where = "/" + "/".join(keys[:depth]) if depth else "the top"
        if isinstance(value, dict):
            if key not in value:
                raise LookupError(f"no key {key!r} at {where}")
            value = value[key]
        elif isinstance(value, list):
            # Only plain non-negative indexes: "-1" or "+1" would be guesses.
            if not (key.isascii() and key.isdigit()):
                raise LookupError(f"{key!r} is not an index into the list at {where}")
            index = int(key)
            if index >= len(value):
                raise LookupError(f"index {index} is past the end of the list at {where} (length {len(value)})")
            value = value[index]
        else:
            raise LookupError(f"cannot look up {key!r} in a {type(value).__name__} at {where}")
    return value


@component(
    "json.pick",
    kind="transform",
    inputs={
        "type": "object",
        "properties": {
            "data": {"description": "Any JSON value."},
            "path": {"type": "string", "description": "A dot path (a.b.0) or a JSON Pointer (/a/b/0)."},
            "default": {"description": "Returned when the path is missing; without it a missing path fails."},
        },
        "required": ["data", "path"],
        "additionalProperties": False,
    },
    outputs={
        "type": "object",
        "properties": {"value": {"description": "The value at the path."}},
        "required": ["value"],
    },
    tags=("json",),
)
def json_pick(data, path: str, default=MISSING) -> dict:
    """The value at `path` in `data`, or `default` when there is none."""
    if not isinstance(path, str):
        raise ComponentError(f"json.pick: path must be a string, got {type(path).__name__}")
    try:
        return {"value": pick(data, split_path(path))}
    except LookupError as exc:
        if default is not MISSING:
            return {"value": default}
        raise ComponentError(f"json.pick: path {path!r} not found: {exc}") from None
