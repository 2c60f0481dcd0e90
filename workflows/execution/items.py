"""A map's items as the engine names them: `ID[INDEX]`, the map step's id and the item's position.

Step ids of a definition can't hold brackets (format.STEP_ID_PATTERN), so an
item's id never collides with a step's, and its map is found from the id alone.
"""

import re

_ITEM_ID_RE = re.compile(r"(?P<map>.+)\[(?P<index>[0-9]+)\]\Z")


def item_step_id(map_step_id: str, index: int) -> str:
    return f"{map_step_id}[{index}]"


def split_item_id(step_id: str) -> tuple[str, int] | None:
    """(the map step's id, the item's index) for an item's id; None for any other step."""
    if not step_id.endswith("]"):
        return None
    match = _ITEM_ID_RE.match(step_id)
    return (match["map"], int(match["index"])) if match else None


def spec_step_id(step_id: str) -> str:
    """The definition's step an engine step runs: the map step for an item, else itself."""
    split = split_item_id(step_id)
    return split[0] if split else step_id
