"""text.*: text built from workflow values."""

import json
import re

from registry.catalog import ComponentError, component

# `{{` and `}}` are literal braces; `{...}` is a placeholder; any other brace
# is unmatched. One left-to-right scan, as str.format reads them.
TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def render(template: str, values: dict) -> str:
    """Replace each `{name}` in `template` with `values[name]`.

    A deliberately small formatter: str.format would also evaluate
    `{a.__class__}` and `{a[0]}`, which lets a template reach into Python
    objects, so only plain names are accepted. Strings are inserted as they
    are, other values as JSON (`true`, `null`, `[1, 2]`).
    """
    parts = []
    position = 0
    for match in TOKEN.finditer(template):
        parts.append(template[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0])
        elif token in ("{", "}"):
            raise ComponentError(
                f"text.template: unmatched {token!r} at position {match.start()} "
                f"(write {token * 2} for a literal brace)"
            )
        else:
            parts.append(_value_text(match.group(1), values))
    parts.append(template[position:])
    return "".join(parts)


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
    return {"text": render(template, values)}
