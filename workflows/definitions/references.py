"""References inside step inputs: finding them and resolving them.

`{{ inputs.NAME }}` and `{{ steps.ID.outputs.NAME }}`, each optionally
followed by `.key` parts (a part may be a list index: `.0`). A string that is
only one reference resolves to the referenced value with its JSON type; a
string with text around references is interpolated (strings as they are,
other values as JSON). A regex finds them and a dict walk resolves them:
no eval, no template engine, so a definition can never run code.

In a map's step (issue 19), `{{ item }}` is the item of the list the step maps
over (`{{ item.key }}` a part of it) and `{{ index }}` its position: only a
map's items are resolved with them.

Issue 20: `{{ secrets.NAME }}` (a credential of the workflow's team, as an
object of its fields) and `{{ secrets.NAME.FIELD }}` too. Only step inputs may
hold them; `resolve` fills them in from the `secrets` it is given (none: a
reference to nothing), so the values never pass through run inputs or outputs.
"""

import json
import re
from dataclasses import dataclass

INPUTS = "inputs"
STEPS = "steps"
SECRETS = "secrets"  # issue 20: credentials (workflows/credentials/)
ITEM = "item"  # issue 19: a map's item, and its position in the list
INDEX = "index"

_PART = r"[A-Za-z0-9_-]+"
# The text between the braces, whitespace stripped.
REFERENCE_BODY = (
    rf"(?:inputs\.(?P<input>{_PART})|steps\.(?P<step>{_PART})\.outputs\.(?P<output>{_PART})"
    rf"|secrets\.(?P<secret>{_PART})|(?P<scope>item|index))"
    rf"(?P<path>(?:\.{_PART})*)"
)
_BODY_RE = re.compile(REFERENCE_BODY + r"\Z")
# A reference in braces, or else any other `{{ ... }}`, which is then reported
# as malformed (`{{ input.x }}`) instead of silently left as text. The
# malformed kind stops at the next `{{`: a string of many unclosed `{{` is
# then scanned in linear time, not quadratic.
_SCAN_RE = re.compile(
    r"\{\{\s*(?P<body>" + REFERENCE_BODY + r")\s*\}\}|\{\{(?:(?!\{\{).)*?\}\}",
    re.DOTALL,
)
_WHOLE_RE = re.compile(r"\{\{\s*(?P<body>" + REFERENCE_BODY + r")\s*\}\}\Z")


class ReferenceError(Exception):  # shadows the builtin on purpose: the engine imports this name
    """A reference points at nothing (a missing input, output, key or index)."""


class TooLarge(ReferenceError):
    """Filling in the references would build a value over the size limit.

    A ReferenceError too: the references can't be resolved, and whoever
    handles that (a step's attempt fails at once) handles this the same way.
    """


@dataclass(frozen=True, slots=True)  # slots: a validation keeps one per referenced step output
class Reference:
    source: str  # "inputs" | "steps" | "secrets" | "item" | "index"
    name: str  # input name, step id or credential name ("item" or "index" for those)
    output: str | None  # output name for steps refs
    path: tuple[str, ...]  # further keys
    text: str  # the reference as written, e.g. "steps.a.outputs.b.c"

    def __str__(self):
        return self.text


def parse_reference(body: str) -> Reference | None:
    """The Reference for a body such as `steps.a.outputs.b.0`, or None."""
    match = _BODY_RE.match(body.strip())
    return _reference(match, match.group(0)) if match else None


# Definitions repeat references (every child of a step reads its outputs) and
# a Reference is immutable, so one instance per text is shared. Emptied when
# full rather than kept in LRU order: no bookkeeping on a miss, and validating
# a huge definition costs the same per step as a small one.
_known: dict[str, Reference] = {}
KNOWN_MAX = 20_000


def _reference(match: re.Match, body: str) -> Reference:
    known = _known.get(body)
    if known is not None:
        return known
    name, step, output, secret, scope, path = match.group("input", "step", "output", "secret", "scope", "path")
    path = tuple(path[1:].split(".")) if path else ()
    if scope is not None:
        reference = Reference(scope, scope, None, path, body)
    elif name is not None:
        reference = Reference(INPUTS, name, None, path, body)
    elif secret is not None:
        reference = Reference(SECRETS, secret, None, path, body)
    else:
        reference = Reference(STEPS, step, output, path, body)
    if len(_known) >= KNOWN_MAX:
        _known.clear()
    _known[body] = reference
    return reference


def is_whole_reference(value) -> Reference | None:
    """The reference if `value` is a string holding exactly one reference and nothing else."""
    if not isinstance(value, str) or not value.startswith("{{"):
        return None
    match = _WHOLE_RE.match(value)
    return _reference(match, match["body"]) if match else None


def escape_pointer(key) -> str:
    """One JSON Pointer token (RFC 6901): `~` -> `~0`, `/` -> `~1`."""
    key = key if isinstance(key, str) else str(key)
    if "~" in key or "/" in key:
        return key.replace("~", "~0").replace("/", "~1")
    return key


class NestingError(ValueError):
    """A value nests lists and objects deeper than allowed."""


# Where a reference was found: (JSON Pointer of the container, key or index in
# it), or (pointer of the string, None). The pointer itself is only built for
# an issue: building one for every string holding a reference was a tenth of
# a whole validation (bench/validation.py).
Place = tuple[str, str | int | None]


def place_pointer(place: Place) -> str:
    """The JSON Pointer of a Place."""
    where, key = place
    return where if key is None else f"{where}/{escape_pointer(key)}"


def scan_references(
    value, pointer: str = "", max_depth: int | None = None
) -> tuple[list[tuple[Reference, Place]], list[tuple[str, Place]]]:
    """Every reference in `value` (nested lists and dicts too), and every malformed one.

    Returns (references, malformed): references as (Reference, Place of the
    string holding it), malformed as (the `{{ ... }}` text, Place); `pointer`
    is `value`'s own JSON Pointer. Walks with an explicit stack: a deeply
    nested value cannot overflow it. With `max_depth` (at least 1), raises
    NestingError if lists and objects nest deeper (`value` itself, if a list
    or object, is depth 1).
    """
    found: list[tuple[Reference, Place]] = []
    malformed: list[tuple[str, Place]] = []
    if isinstance(value, str):
        _scan_string(value, (pointer, None), found, malformed)
        return found, malformed
    if not isinstance(value, dict | list):
        return found, malformed
    # A stack of iterators keeps document order without recursion; pointers
    # are only built for containers.
    stack = [(_children(value), pointer)]
    while stack:
        children, where = stack[-1]
        for key, child in children:
            if isinstance(child, str):
                if "{{" in child:
                    _scan_string(child, (where, key), found, malformed)
            elif isinstance(child, dict | list):
                stack.append((_children(child), f"{where}/{escape_pointer(key)}"))
                if max_depth is not None and len(stack) > max_depth:
                    raise NestingError(f"{stack[-1][1]} nests deeper than {max_depth} levels")
                break
        else:
            stack.pop()
    return found, malformed


def _children(container):
    return iter(container.items()) if isinstance(container, dict) else enumerate(container)


def _scan_string(text: str, place: Place, found: list, malformed: list) -> None:
    for match in _SCAN_RE.finditer(text):
        body = match["body"]
        if body is None:
            malformed.append((match.group(0), place))
        else:
            found.append((_reference(match, body), place))


def find_references(value, pointer: str = "") -> list[tuple[Reference, str]]:
    """Every well-formed reference in `value`, with the JSON Pointer where it was found."""
    return [(reference, place_pointer(place)) for reference, place in scan_references(value, pointer)[0]]


@dataclass(frozen=True, slots=True)
class Item:
    """A map's item and its position: what `{{ item }}` and `{{ index }}` point at in that item's inputs."""

    value: object
    index: int


def lookup(
    reference: Reference,
    inputs: dict,
    step_outputs: dict[str, dict | None],
    secrets: dict | None = None,
    item: Item | None = None,
):
    """The value a reference points at; ReferenceError when there is none.

    A step that has no outputs (not run, skipped: None) has nothing to point at.
    `secrets`: credential name -> its fields (issue 20); None: no credential is known.
    `item`: the map item whose inputs these are (issue 19); None outside a map's items.
    """
    if reference.source in (ITEM, INDEX):
        if item is None:
            raise ReferenceError(f"{reference.text}: only a map's items have an {reference.source}")
        value = item.value if reference.source == ITEM else item.index
    elif reference.source == SECRETS:
        if not isinstance(secrets, dict) or reference.name not in secrets:
            raise ReferenceError(f"{reference.text}: no credential {reference.name!r} in the workflow's team")
        value = secrets[reference.name]
    elif reference.source == INPUTS:
        if not isinstance(inputs, dict) or reference.name not in inputs:
            raise ReferenceError(f"{reference.text}: no workflow input {reference.name!r}")
        value = inputs[reference.name]
    else:
        outputs = step_outputs.get(reference.name) if isinstance(step_outputs, dict) else None
        if outputs is None:
            raise ReferenceError(f"{reference.text}: step {reference.name!r} has no outputs")
        if not isinstance(outputs, dict) or reference.output not in outputs:
            raise ReferenceError(f"{reference.text}: step {reference.name!r} has no output {reference.output!r}")
        value = outputs[reference.output]
    for part in reference.path:
        value = _step_into(value, part, reference)
    return value


def _step_into(value, part: str, reference: Reference):
    if isinstance(value, dict):
        if part in value:
            return value[part]
    elif isinstance(value, list):
        # The length check first: int() of a few thousand digits raises (or
        # takes long), and no list is that long.
        if part.isdigit() and len(part) <= len(str(len(value))) and int(part) < len(value):
            return value[int(part)]
    raise ReferenceError(f"{reference.text}: nothing at {part!r}")


def resolve(
    value,
    inputs: dict,
    step_outputs: dict[str, dict | None],
    missing: str = "raise",
    max_size: int | None = None,
    secrets: dict | None = None,
    item: Item | None = None,
):
    """`value` with every reference replaced by what it points at.

    missing="raise" raises ReferenceError for a reference to nothing;
    missing="null" uses None (JSON-encoded as `null` inside text).
    Lists and dicts are rebuilt; resolved values are not copied, so they may
    be shared with `inputs` and `step_outputs`.

    With `max_size`, raises TooLarge when the result as JSON would be over
    `max_size` bytes. Text around references is counted as it is built, so
    `{{ inputs.a }}` written 200 times stops at the limit instead of
    building 200 copies first; whole references, shared rather than copied,
    are counted after (json_size_over).

    `secrets` (issue 20): credential name -> fields, for `{{ secrets.NAME... }}`;
    the engine passes them only to a step that reads them. `item` (issue 19): a map item's.
    """
    if missing not in ("raise", "null"):
        raise ValueError(f"missing must be 'raise' or 'null', not {missing!r}")
    budget = _Budget(max_size, secrets, item)
    resolved = _resolve(value, inputs, step_outputs, missing == "null", budget)
    if max_size is not None and json_size_over(resolved, max_size):
        raise budget.exceeded()
    return resolved


class _Budget:
    """What interpolated text may still take, over all the strings of one resolve() (and its secrets, issue 20)."""

    def __init__(self, limit: int | None, secrets: dict | None = None, item: Item | None = None):
        self.limit = limit
        self.used = 0
        self.secrets = secrets
        self.item = item  # not a budget, but what the references of this resolve() may point at too

    def check(self, value) -> None:
        """TooLarge if `value`, written out, could not fit in what is left (before it is written out)."""
        if self.limit is not None and json_size_over(value, self.limit - self.used):
            raise self.exceeded()

    def spend(self, size: int) -> None:
        self.used += size
        if self.limit is not None and self.used > self.limit:
            raise self.exceeded()

    def exceeded(self) -> TooLarge:
        return TooLarge(f"over {self.limit} bytes once references are filled in")


def _resolve(value, inputs, step_outputs, missing_is_null: bool, budget: _Budget):
    if isinstance(value, str):
        if "{{" not in value:
            return value
        whole = is_whole_reference(value)
        if whole is not None:
            return _lookup(whole, inputs, step_outputs, missing_is_null, budget)
        return _SCAN_RE.sub(lambda match: _interpolate(match, inputs, step_outputs, missing_is_null, budget), value)
    if isinstance(value, dict):
        return {key: _resolve(child, inputs, step_outputs, missing_is_null, budget) for key, child in value.items()}
    if isinstance(value, list):
        return [_resolve(child, inputs, step_outputs, missing_is_null, budget) for child in value]
    return value


def _lookup(reference, inputs, step_outputs, missing_is_null: bool, budget: _Budget):
    try:
        return lookup(reference, inputs, step_outputs, budget.secrets, budget.item)
    except ReferenceError:
        if missing_is_null:
            return None
        raise


def _interpolate(match: re.Match, inputs, step_outputs, missing_is_null: bool, budget: _Budget) -> str:
    body = match["body"]
    if body is None:  # not a reference: the text stays as written
        return match.group(0)
    value = _lookup(_reference(match, body), inputs, step_outputs, missing_is_null, budget)
    if not isinstance(value, str):
        budget.check(value)  # json.dumps would build it all before spend() could count it
        value = json.dumps(value, ensure_ascii=False)
    budget.spend(len(value))  # re.sub joins the pieces only at the end: this stops it before
    return value


def json_size_over(value, limit: int) -> bool:
    """Whether `value` written as JSON would surely be over `limit` bytes, found without writing it.

    Counts a lower bound: a string's characters and its quotes, a byte per
    number, brackets and separators (escapes, digits and UTF-8 only add).
    A value shared many times counts each time, as json.dumps would write
    it; the count stops as soon as it passes `limit`, so a huge value costs
    no more than `limit` steps. A stack of iterators: no recursion, and
    memory for the depth only.
    """
    size = 0
    stack = [iter((value,))]
    while stack:
        for item in stack[-1]:
            if isinstance(item, dict):
                # Braces, then per key its quotes, colon and a comma (one fewer comma than keys).
                size += 1 + sum(len(key) + 4 if isinstance(key, str) else 4 for key in item) if item else 2
                if size > limit:
                    return True
                stack.append(iter(item.values()))
                break  # walk into it, then on with this one
            if isinstance(item, list):
                size += 1 + len(item) if item else 2  # brackets and the commas between items
                if size > limit:
                    return True
                stack.append(iter(item))
                break
            size += len(item) + 2 if isinstance(item, str) else 1
            if size > limit:
                return True
        else:
            stack.pop()
    return False
