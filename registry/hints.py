"""Derive a JSON Schema from Python type hints, for components that declare
their inputs and outputs as annotations instead of schemas."""

import inspect
import types
import typing

SIMPLE_TYPES = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    dict: {"type": "object"},
    list: {"type": "array"},
    type(None): {"type": "null"},
    typing.Any: {},
}


def schema_for_type(annotation) -> dict:
    if annotation in SIMPLE_TYPES:
        return dict(SIMPLE_TYPES[annotation])
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [schema_for_type(arg) for arg in args]}
    if origin is list:
        return {"type": "array", "items": schema_for_type(args[0])} if args else {"type": "array"}
    if origin is dict:
        return {"type": "object"}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if typing.is_typeddict(annotation):
        return schema_for_typeddict(annotation)
    raise TypeError(f"cannot derive a JSON Schema from type {annotation!r}")


def schema_for_typeddict(cls) -> dict:
    hints = typing.get_type_hints(cls)
    return {
        "type": "object",
        "properties": {name: schema_for_type(hint) for name, hint in hints.items()},
        "required": sorted(cls.__required_keys__),
    }


def input_schema_from_signature(func) -> dict:
    """Parameters become properties; those without a default are required.

    A parameter named `context` receives the StepContext and is no input.
    """
    signature = inspect.signature(func)
    hints = typing.get_type_hints(func)
    properties, required = {}, []
    for name, param in signature.parameters.items():
        if name in ("self", "context") or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        schema = schema_for_type(hints[name]) if name in hints else {}
        if param.default is inspect.Parameter.empty:
            required.append(name)
        else:
            schema["default"] = param.default
        properties[name] = schema
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def output_schema_from_signature(func) -> dict:
    hints = typing.get_type_hints(func)
    returned = hints.get("return")
    if returned is None:
        return {"type": "object"}
    return schema_for_type(returned)
