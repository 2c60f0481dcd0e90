"""What the definition editor completes from the registry (static/oaweb/editor.js reads it from the page).

Each enabled component with its kind, the first line of its description,
its inputs (name, type, whether a step must set it, description) and the
outputs it declares. Names only come from the schemas' `properties`: a
component that declares none gets no input or output names offered.
"""

from registry.models import Component
from workflows.definitions.contracts import declared_types, describe_types

ANY = "any"


def registry_completions() -> list[dict]:
    """The enabled components, by name, as the editor's completion uses them."""
    rows = Component.objects.filter(enabled=True).order_by("name")
    return [
        {
            "name": row.name,
            "kind": row.kind,
            "description": first_line(row.description),
            "inputs": fields(row.input_schema),
            "outputs": fields(row.output_schema),
        }
        for row in rows.only("name", "kind", "description", "input_schema", "output_schema")
    ]


def fields(schema) -> list[dict]:
    """The declared properties of an object schema: [{"name", "type", "required", "description"}].

    A property with a default is not required (as the validator reads an
    input schema: workflows/definitions/contracts.py). Required ones first,
    then by name: PostgreSQL's jsonb keeps no declared order to follow.
    """
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return []
    required = schema.get("required")
    required = {key for key in required if isinstance(key, str)} if isinstance(required, list) else set()
    found = []
    for name, sub in properties.items():
        sub = sub if isinstance(sub, dict) else {}
        must = name in required and "default" not in sub
        types = declared_types(sub)
        description = sub.get("description")
        found.append(
            {
                "name": name,
                "type": describe_types(types) if types else ANY,
                "required": must,
                "description": first_line(description) if isinstance(description, str) else "",
            }
        )
    return sorted(found, key=lambda field: (not field["required"], field["name"]))


def first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip() if text else ""
