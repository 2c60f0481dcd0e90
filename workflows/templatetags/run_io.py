"""A run's inputs and outputs as people read them on its page (tested in tests/web/test_workflow_manage.py)."""

import json

from django import template

from workflows.redaction import redact_data

register = template.Library()

# A page never carries more of one value than this: outputs may be up to OAWEB_MAX_OUTPUT_BYTES.
SHOWN_CHARS = 100_000


@register.filter
def pretty_json(value) -> str:
    """A JSON value indented, secrets masked (workflows/redaction.py), cut after SHOWN_CHARS characters."""
    text = json.dumps(redact_data(value), indent=2, ensure_ascii=False, sort_keys=False)
    if len(text) > SHOWN_CHARS:
        return f"{text[:SHOWN_CHARS]}\n… ({len(text) - SHOWN_CHARS:,} more characters: the API has it whole)"
    return text
