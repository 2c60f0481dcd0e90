"""What a component's schemas promise about its inputs and outputs, and the step inputs checked against it.

Only the JSON types a schema's `type` keyword names are compared: a value or
a reference whose type is not known is let through. In a map's inputs
(issue 19) `{{ item }}` has the type of the list's items and `{{ index }}`
is an integer (map_checks.py says what the list holds).
"""

from workflows.definitions.format import JSON_TYPE_OF_CLASS, json_type
from workflows.definitions.issues import WARNING
from workflows.definitions.references import (
    INDEX,
    INPUTS,
    ITEM,
    SECRETS,
    STEPS,
    Reference,
    escape_pointer,
    is_whole_reference,
)
from workflows.definitions.secret_checks import credential_kinds

INTEGER_OR_NUMBER = frozenset(("integer", "number"))
OBJECT, STRING = frozenset(("object",)), frozenset(("string",))
INDEX_SCHEMA = {"type": "integer", "minimum": 0}  # `{{ index }}`: an item's position in its list
_TYPES_OF_KIND = {kind: frozenset((kind,)) for kind in JSON_TYPE_OF_CLASS.values()} | {"integer": INTEGER_OR_NUMBER}
# By class first, without a call: float is left out, a whole float (2.0) being an integer too.
_TYPES_OF_CLASS = {cls: _TYPES_OF_KIND[kind] for cls, kind in JSON_TYPE_OF_CLASS.items() if cls is not float}


def value_types(value) -> frozenset[str]:
    types = _TYPES_OF_CLASS.get(type(value))
    if types is not None:
        return types
    kind = json_type(value)
    if kind == "number" and value.is_integer():
        return INTEGER_OR_NUMBER
    return _TYPES_OF_KIND.get(kind) or frozenset((kind,))


def declared_types(schema) -> frozenset[str] | None:
    """The JSON types a schema's `type` keyword allows, or None if it says nothing."""
    if not isinstance(schema, dict):
        return None
    declared = schema.get("type")
    if isinstance(declared, str):
        declared = [declared]
    if not isinstance(declared, list) or not all(isinstance(kind, str) for kind in declared):
        return None
    types = set(declared)
    if "number" in types:  # a declared number may hold an integer
        types.add("integer")
    return frozenset(types)


def fits(actual: frozenset[str], expected: frozenset[str]) -> bool:
    if actual & expected:
        return True
    return "integer" in actual and "number" in expected


def describe_types(types: frozenset[str]) -> str:
    shown = sorted(types - {"integer"} if "number" in types else types)
    return " or ".join(shown)


def closed_properties(schema) -> dict | None:
    """The declared `properties` when no others are allowed, else None.

    Declared properties count as a closed list unless additionalProperties
    is true or a schema for the extra keys.
    """
    if not isinstance(schema, dict):
        return None
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return None
    extra = schema.get("additionalProperties", False)
    if extra is True or isinstance(extra, dict):
        return None
    return properties


def schema_at(schema, path: tuple[str, ...]):
    """The sub-schema a reference's `.key` path leads to, or None where unknown."""
    for part in path:
        if not isinstance(schema, dict):
            return None
        properties = schema.get("properties")
        items = schema.get("items")
        if isinstance(properties, dict) and part in properties:
            schema = properties[part]
        elif part.isdigit() and isinstance(items, dict):
            schema = items
        else:
            return None
    return schema


class Contract:
    """What a component's schemas say about its inputs and outputs, read once per validation."""

    def __init__(self, info):
        self.name = getattr(info, "name", None)
        schema = getattr(info, "input_schema", None)
        schema = schema if isinstance(schema, dict) else {}
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = schema.get("required")
        required = required if isinstance(required, list) else []
        # A required input with a default can be left out.
        self.required = tuple(
            key
            for key in required
            if isinstance(key, str) and not (isinstance(properties.get(key), dict) and "default" in properties[key])
        )
        self.inputs = closed_properties(schema)
        self.input_types = {
            key: types for key, declared in properties.items() if (types := declared_types(declared)) is not None
        }
        self.output_schema = getattr(info, "output_schema", None)
        self.outputs = closed_properties(self.output_schema)
        self.credentials = credential_kinds(properties)  # issue 20: inputs that take a credential


class ContractChecks:
    """The checker's checks of step inputs against their components' contracts (state: validation._Checker)."""

    def check_component_inputs(self, base: str, step: dict, inputs: dict, contract: Contract) -> None:
        name = contract.name or step.get("component")
        for key in contract.required:
            if key not in inputs:
                self.add(
                    "missing_input",
                    f"component `{name}` needs input `{key}`",
                    f"{base}/inputs" if "inputs" in step else base,
                    f"set inputs.{key}",
                )
        closed = contract.inputs
        types = contract.input_types
        for key, value in inputs.items():
            if closed is not None and key not in closed:
                self.add(
                    "unknown_input",
                    f"component `{name}` takes no input `{key}`",
                    f"{base}/inputs/{escape_pointer(key)}",
                    self.suggest(key, "input", list(closed)),
                    WARNING,
                )
                continue
            if key in contract.credentials:  # issue 20
                self.check_credential_input(base, key, value, contract.credentials[key], name)
            expected = types.get(key)
            if expected is not None:
                self.check_type(value, expected, base, key, name)

    def check_type(self, value, expected: frozenset[str], base: str, key: str, component: str) -> None:
        """Report a value, or the reference it holds, of a type that input `key` of `component` does not take."""
        reference = is_whole_reference(value)
        actual = value_types(value) if reference is None else self.reference_types(reference)
        if actual is None or fits(actual, expected):
            return
        # Messages are built only here: most inputs fit.
        target = f"input `{key}` of `{component}`"
        if reference is None:
            message = f"{target} expects {describe_types(expected)}, not {describe_types(actual)}"
        else:
            message = (
                f"`{reference.text}` is declared as {describe_types(actual)} but {target} expects "
                f"{describe_types(expected)}"
            )
        self.add("type_mismatch", message, f"{base}/inputs/{escape_pointer(key)}")

    def reference_types(self, reference: Reference) -> frozenset[str] | None:
        """The types a reference's value is declared to have, or None when not known."""
        if reference.source == SECRETS:  # issue 20: a credential is an object of its fields, which are text
            return STRING if reference.path else OBJECT
        return declared_types(self.reference_schema(reference))

    def reference_schema(self, reference: Reference):
        """The schema declared for a reference's value (its `.key` path followed), or None when not known.

        `{{ item }}` and `{{ index }}` are known only while a map step's inputs
        are checked: `item_schema` (map_checks.py) is then the list's items' schema.
        """
        source = reference.source
        if source == INPUTS:
            schema = self.declared_inputs.get(reference.name)
        elif source == STEPS:
            parent = self.step_index.get(reference.name)
            contract = self.step_contracts[parent] if parent is not None else None
            output_schema = contract.output_schema if contract is not None else None
            properties = output_schema.get("properties") if isinstance(output_schema, dict) else None
            schema = properties.get(reference.output) if isinstance(properties, dict) else None
        elif source == ITEM:
            schema = self.item_schema
        elif source == INDEX and self.item_schema is not None:
            schema = INDEX_SCHEMA
        else:
            return None
        return schema_at(schema, reference.path)
