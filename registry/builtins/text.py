"""text.*: text built from workflow values."""

import json
import re

from django.conf import settings

from registry.catalog import ComponentError, component

# `{{` and `}}` are literal braces; `{...}` is a placeholder; any other brace
# is unmatched. One left-to-right scan, as str.format reads them.
TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def render(template: str, values: dict, limit: int | None = None) -> str:
    """Replace each `{name}` in `template` with `values[name]`.

    A deliberately small formatter: str.format would also evaluate
    `{a.__class__}` and `{a[0]}`, which lets a template reach into Python
    objects, so only plain names are accepted. Strings are inserted as they
    are, other values as JSON (`true`, `null`, `[1, 2]`).

    With `limit`, the text's UTF-8 size is counted as it is built and a
    ComponentError stops it as soon as it passes `limit` bytes: a template
    repeating a large value 200 times fails after two copies, not after
    building 200 (the step's output check alone came too late for memory).
    """
    parts = []
    size = 0
    texts: dict[str, tuple[str, int]] = {}  # name -> (text, UTF-8 size): each value written once, however often used
    position = 0
    for match in TOKEN.finditer(template):
        literal = template[position : match.start()]
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            piece, piece_size = token[0], 1
        elif token in ("{", "}"):
            raise ComponentError(
                f"text.template: unmatched {token!r} at position {match.start()} "
                f"(write {token * 2} for a literal brace)"
            )
        else:
            name = match.group(1)
            if name not in texts:
                text = _value_text(name, values)
                texts[name] = (text, utf8_size(text))
            piece, piece_size = texts[name]
        size += utf8_size(literal) + piece_size
        if limit is not None and size > limit:
            raise ComponentError(_too_large(limit, match.start()))
        parts += (literal, piece)
    size += utf8_size(template[position:])
    if limit is not None and size > limit:
        raise ComponentError(_too_large(limit, len(template)))
    parts.append(template[position:])
    return "".join(parts)


def utf8_size(text: str) -> int:
    """len(text.encode("utf-8")) without the copy, for the usual ASCII text."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _too_large(limit: int, position: int) -> str:
    return (
        f"text.template: output would exceed {limit} bytes (OAWEB_MAX_OUTPUT_BYTES); "
        f"stopped at position {position} of the template"
    )


def _value_text(name: str, values: dict) -> str:
    if not name.isidentifier():
        raise ComponentError(
            f"text.template: placeholder {{{name}}} is not allowed: only {{name}} with a plain name "
            "(letters, digits, _) is; attribute, index and format specs are refused"
        )
    if name not in values:
        known = ", ".join(sorted(values)) or "none"
        raise ComponentError(f"text.template: no value for {{{name}}} (values given: {known})")
    value = values[name]
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@component(
    "text.template",
    kind="transform",
    inputs={
        "type": "object",
        "properties": {
            "template": {"type": "string", "description": "Text with {name} placeholders; {{ and }} for braces."},
            "values": {"type": "object", "default": {}, "description": "Values for the placeholders."},
        },
        "required": ["template"],
        "additionalProperties": False,
    },
    outputs={
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
    },
    tags=("text",),
)
def template(template: str, values: dict | None = None) -> dict:
    """Fill `{name}` placeholders in a template from `values`."""
    if not isinstance(template, str):
        raise ComponentError(f"text.template: template must be a string, got {type(template).__name__}")
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ComponentError(f"text.template: values must be an object, got {type(values).__name__}")
    return {"text": render(template, values, settings.OAWEB_MAX_OUTPUT_BYTES)}
