"""Fake registry components and small builders for the validator's tests (no database)."""

from registry.lookup import ComponentInfo


def fake_component(name, inputs=None, outputs=None, enabled=True) -> ComponentInfo:
    return ComponentInfo(
        name=name,
        version="1.0.0",
        kind="tool",
        input_schema=inputs if inputs is not None else {"type": "object"},
        output_schema=outputs if outputs is not None else {"type": "object"},
        entrypoint="tests.fake:component",
        is_class=False,
        queue="default",
        timeout=None,
        retry=None,
        rate_limit="",
        enabled=enabled,
    )


def closed(properties, required=()):
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


COMPONENTS = {
    component.name: component
    for component in [
        fake_component("core.noop"),
        fake_component(
            "core.sleep",
            inputs=closed({"seconds": {"type": "number"}}, required=["seconds"]),
            outputs={"type": "object", "properties": {"slept": {"type": "number"}}},
        ),
        fake_component(
            "text.template",
            inputs=closed({"template": {"type": "string"}, "values": {"type": "object", "default": {}}}, ["template"]),
            outputs={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
        ),
        fake_component(
            "json.pick",
            inputs=closed({"data": {}, "path": {"type": "string"}, "default": {}}, required=["data", "path"]),
            outputs={"type": "object", "properties": {"value": {}}},
        ),
        fake_component(
            "math.count",
            inputs=closed({"limit": {"type": "integer", "default": 10}}),
            outputs={
                "type": "object",
                "properties": {
                    "count": {"type": "integer"},
                    "items": {"type": "array", "items": {"type": "string"}},
                    "stats": {"type": "object", "properties": {"mean": {"type": "number"}}},
                },
            },
        ),
        fake_component("open.out", outputs={"type": "object", "properties": {"a": {}}, "additionalProperties": True}),
        fake_component("old.thing", enabled=False),
    ]
}


def step(step_id, component="core.noop", **fields):
    return {"id": step_id, "component": component, **fields}


def workflow(*steps, inputs=None, outputs=None, **fields):
    definition = {"id": "test-flow", "steps": list(steps), **fields}
    if inputs is not None:
        definition["inputs"] = inputs
    if outputs is not None:
        definition["outputs"] = outputs
    return definition


def codes(result) -> list[str]:
    return [issue["code"] for issue in result["issues"]]


def issues_with(result, code) -> list[dict]:
    return [issue for issue in result["issues"] if issue["code"] == code]
