"""What the editor completes from the registry: workflows/web/completions.py, and the page that carries it."""

import json
import re

from django.urls import reverse

from registry.models import Component
from workflows.web.completions import fields, registry_completions


def by_name(completions) -> dict:
    return {component["name"]: component for component in completions}


def test_components_come_with_their_declared_inputs_and_outputs(components):
    template = by_name(registry_completions())["text.template"]
    assert template["kind"] == "transform"
    assert template["description"].startswith("Fill `{name}` placeholders")
    assert [(field["name"], field["type"], field["required"]) for field in template["inputs"]] == [
        ("template", "string", True),
        ("values", "object", False),  # required by nobody; it has a default anyway
    ]
    assert template["inputs"][0]["description"].startswith("Text with {name} placeholders")
    assert [(field["name"], field["type"]) for field in template["outputs"]] == [("text", "string")]


def test_a_component_that_declares_no_properties_offers_no_names(components):
    noop = by_name(registry_completions())["core.noop"]
    assert noop["inputs"] == [] and noop["outputs"] == []


def test_disabled_components_are_not_offered(components):
    Component.objects.filter(name="core.sleep").update(enabled=False)
    names = by_name(registry_completions())
    assert "core.sleep" not in names and "core.noop" in names


def test_fields_read_types_defaults_and_odd_schemas():
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": ["string", "null"]},
            "b": {"type": "integer", "default": 3},
            "c": {},
            "d": "not a schema",
        },
        "required": ["a", "b", "c", 7],
    }
    assert fields(schema) == [  # required first, then by name
        {"name": "a", "type": "null or string", "required": True, "description": ""},
        {"name": "c", "type": "any", "required": True, "description": ""},
        {"name": "b", "type": "integer", "required": False, "description": ""},  # a default: not required
        {"name": "d", "type": "any", "required": False, "description": ""},
    ]
    assert fields({"type": "object"}) == [] and fields(None) == [] and fields({"properties": []}) == []


def test_the_editor_page_carries_the_registry_and_the_code_editor(owner_client, components):
    html = owner_client.get(reverse("workflow-new")).content.decode()
    found = re.search(r'<script id="editor-completions" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the registry's completions are on the page"
    assert by_name(json.loads(found.group(1)))["text.template"]["outputs"][0]["name"] == "text"
    assert "vendor/codemirror-6.0.2.min.js" in html and "oaweb/editor.css" in html
    assert 'id="source-label"' in html  # CodeMirror's text box is labelled by it
