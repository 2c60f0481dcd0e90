"""The checks of map steps (issue 19): the list, the options, `{{ item }}` and `{{ index }}`, the outputs.

A step with `map` runs once per item of a list: `map` is one whole reference
to it (`{{ inputs.NAME }}` or `{{ steps.ID.outputs.NAME... }}`), and in the
step's inputs `{{ item }}` (`{{ item.key }}`) is the item and `{{ index }}`
its position. Nothing else has an item: not a step without `map`, not a
`when` (a map's decides for the whole map, before its items exist), not
`map` itself, not the workflow's outputs.

A map step's outputs are not its component's but the map's (MapContract):
`results`, each item's outputs in order, and `errors`.

Codes: map_not_reference, map_not_list, item_outside_map,
map_option_without_map.
"""

from typing import NamedTuple

from workflows.definitions.contracts import Contract, declared_types, describe_types
from workflows.definitions.issues import shown
from workflows.definitions.references import (
    INDEX,
    INPUTS,
    ITEM,
    STEPS,
    Place,
    Reference,
    is_whole_reference,
    place_pointer,
    scan_references,
)

MAP_OPTIONS = ("concurrency", "allow_failures")
ITEM_SOURCES = frozenset((ITEM, INDEX))
MAP_OUTPUTS = ("results", "errors")
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"index": {"type": "integer"}, "error": {"type": "string"}},
    "required": ["index", "error"],
}
LIST_HELP = "write `{{ steps.ID.outputs.NAME }}` or `{{ inputs.NAME }}`, with nothing around it"


class Outside(NamedTuple):
    """Why `{{ item }}` and `{{ index }}` can't be read where they were found, and what to do instead."""

    reason: str
    suggestion: str


NOT_A_MAP = Outside(
    "only the inputs of a step with `map` have an item and an index", "add `map` (the list to run over)"
)
IN_WHEN = Outside(
    "a `when` decides for the step as a whole (a map's, before its items exist)",
    "test the list itself, or the item in the component the map calls",
)
IN_MAP = Outside("`map` names the list the items come from", LIST_HELP)
IN_OUTPUTS = Outside("the workflow's outputs have no item", "read a map's results: `{{ steps.ID.outputs.results }}`")


class _MapDeclared(NamedTuple):
    """What Contract reads of a component, for a map step: the map's outputs, no inputs of its own."""

    name: str | None
    output_schema: dict
    input_schema: None = None


class MapContract(Contract):
    """A map step's outputs: `results` (each item's outputs, in order) and `errors` ({index, error} each)."""

    def __init__(self, component: Contract | None, name: str | None, allow_failures: bool):
        item = component.output_schema if component is not None else None
        super().__init__(_MapDeclared(name, map_output_schema(item, allow_failures)))


def map_output_schema(item_schema, allow_failures: bool) -> dict:
    """The schema of a map's outputs, each result being `item_schema` (or null, when items may fail)."""
    item = item_schema if isinstance(item_schema, dict) else {}
    if allow_failures:
        item = _or_null(item)
    return {
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": item},
            "errors": {"type": "array", "items": ERROR_SCHEMA},
        },
        "required": list(MAP_OUTPUTS),
        "additionalProperties": False,
    }


def _or_null(schema: dict) -> dict:
    """`schema` with null among its declared types: an item that failed for good gives null."""
    declared = schema.get("type")
    if isinstance(declared, str):
        declared = [declared]
    if not isinstance(declared, list) or "null" in declared:
        return schema
    return {**schema, "type": [*declared, "null"]}


class MapChecks:
    """The checker's checks of map steps (state: validation._Checker)."""

    # While a map step's inputs are checked: the schema of its list's items
    # ({} when not declared), which types `{{ item }}` (contracts.py); None otherwise.
    item_schema: dict | None = None

    def check_map(self, base: str, index: int, step: dict, parents: list[int]) -> dict | None:
        """Check a step's `map` (or its map options without one): its list's items' schema, None without `map`."""
        if "map" not in step:
            self.check_map_options(base, step)
            return None
        text = step["map"]
        if not isinstance(text, str):  # the format check said so
            return {}
        place = (base, "map")
        reference = is_whole_reference(text)
        if reference is None:
            self.check_map_text(text, place, index, parents)
            return {}
        if reference.source in ITEM_SOURCES:
            self.check_item_reference(reference, place, IN_MAP)
            return {}
        # Unknown steps, inputs and outputs, and the list's step as a parent, as for any
        # reference; a credential is misplaced here (secret_checks.py).
        self.check_references([(reference, place)], [], index, parents, outside=IN_MAP)
        if reference.source not in (INPUTS, STEPS):
            return {}
        return self.list_items(reference, place)

    def check_map_text(self, text: str, place: Place, index: int, parents: list[int]) -> None:
        found, malformed = scan_references(text, place_pointer(place))
        if not found and len(malformed) == 1 and malformed[0][0] == text.strip():
            # A misspelt reference (`{{ input.list }}`): the reference check says so, once.
            self.check_references([], malformed, index, parents, outside=IN_MAP)
            return
        lists = [reference for reference, _ in found if reference.source in (INPUTS, STEPS)]
        suggestion = f"write only the reference: `{{{{ {lists[0].text} }}}}`" if len(lists) == 1 else LIST_HELP
        self.add(
            "map_not_reference",
            f"`map` must be one reference to a list, not {shown(text)}",
            place_pointer(place),
            suggestion,
        )
        self.check_references(found, malformed, index, parents, outside=IN_MAP)

    def list_items(self, reference: Reference, place: Place) -> dict:
        """The schema of the items of the list `map` names ({} when not known); map_not_list when no list."""
        schema = self.reference_schema(reference)
        types = declared_types(schema)
        if types is not None and "array" not in types:
            suggestion = f"name a list inside it: `{{{{ {reference.text}.KEY }}}}`" if "object" in types else None
            self.add(
                "map_not_list",
                f"`map` needs a list, but `{reference.text}` is declared as {describe_types(types)}",
                place_pointer(place),
                suggestion,
            )
            return {}
        items = schema.get("items") if isinstance(schema, dict) else None
        return items if isinstance(items, dict) else {}

    def check_map_options(self, base: str, step: dict) -> None:
        for key in MAP_OPTIONS:
            if key in step:
                self.add(
                    "map_option_without_map",
                    f"`{key}` only applies to a step with `map`",
                    f"{base}/{key}",
                    f"add `map` (the list to run over), or remove `{key}`",
                )

    def check_item_reference(self, reference: Reference, place: Place, outside: Outside | None) -> None:
        """`{{ item }}` or `{{ index }}` at `place`; `outside`: why it can't be read there, None in a map's inputs."""
        if outside is not None:
            message = f"`{reference.text}`: {outside.reason}"
            self.add("item_outside_map", message, place_pointer(place), outside.suggestion)
        elif reference.source == INDEX and reference.path:
            self.add(
                "unknown_reference",
                f"`{reference.text}`: `index` is the item's position, a number with no keys",
                place_pointer(place),
                "write `{{ index }}`",
            )

    def report_map_output(self, reference: Reference, place: Place) -> None:
        """A reference to an output a map step doesn't have: its outputs are `results` and `errors`."""
        output, step_id = reference.output, reference.name
        suggestion = self.suggest(output, "output", list(MAP_OUTPUTS)) or (
            f"did you mean `results`? `steps.{step_id}.outputs.results.0.{output}` is the first item's `{output}`"
        )
        self.add(
            "unknown_reference",
            f"`{reference.text}`: step `{step_id}` is a map: its outputs are `results` (each item's outputs, "
            "in order) and `errors`",
            place_pointer(place),
            suggestion,
        )
