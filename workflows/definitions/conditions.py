"""`when` conditions: a tiny language, read by a hand-written parser.

    inputs.mode == 'full' and not steps.check.outputs.skip
    {{ steps.count.outputs.value }} >= 10 or inputs.force
    'error' in steps.fetch.outputs.text
    inputs.region in ['eu', 'us']

Operands: references (`{{ ... }}` or bare `inputs.x` / `steps.a.outputs.b`),
numbers, 'single' or "double" quoted strings, true, false, null, and lists
`[a, b]`. Operators, loosest first: `or`, `and`, `not`, then one comparison
(== != < <= > >= in, not in), then parentheses. A bare operand is tested for
truth (null, false, 0, "" and empty lists/objects are false). Comparing
values of different types is false (== is false, != is true), never an error.
A reference to a missing input or output is null.

Nothing in a condition is ever handed to eval: an unknown word such as
`__import__` is a parse error.
"""

import re
from functools import lru_cache

from workflows.definitions.format import json_type
from workflows.definitions.references import INPUTS, STEPS, Reference, ReferenceError, lookup, parse_reference

MAX_LENGTH = 2000
MAX_NESTING = 32

KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
LITERALS = {"true": True, "false": False, "null": None}
COMPARISONS = {"==", "!=", "<", "<=", ">", ">=", "in", "not in"}

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<ref>\{\{.*?\}\})
  | (?P<number>-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
  | (?P<word>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*)
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}


class ConditionError(Exception):
    """A condition that does not parse."""


class Condition:
    """A parsed condition: immutable, so parse_condition can share it."""

    __slots__ = ("text", "_tree", "_references")

    def __init__(self, text: str, tree: tuple, references: tuple[Reference, ...]):
        self.text = text
        self._tree = tree
        self._references = references

    @property
    def references(self) -> list[Reference]:
        return list(self._references)

    def evaluate(self, inputs: dict, step_outputs: dict[str, dict | None]) -> bool:
        return _truthy(_value(self._tree, inputs, step_outputs))

    def __repr__(self):
        return f"Condition({self.text!r})"


@lru_cache(maxsize=1024)
def parse_condition(text: str) -> Condition:
    if not isinstance(text, str):
        raise ConditionError("a condition must be a string")
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"a condition may be at most {MAX_LENGTH} characters")
    parser = _Parser(_tokenize(text))
    tree = parser.parse()
    return Condition(text, tree, tuple(parser.references))


def evaluate_condition(text: str, inputs: dict, step_outputs: dict[str, dict | None]) -> bool:
    return parse_condition(text).evaluate(inputs, step_outputs)


# --- tokens ------------------------------------------------------------------


def _tokenize(text: str) -> list[tuple[str, object, int]]:
    """(kind, value, column) triples; kinds: ref, literal, op, keyword."""
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            raise ConditionError(f"unexpected {text[position]!r} at column {position + 1}")
        kind, raw = match.lastgroup, match.group(0)
        if kind == "ref":
            reference = parse_reference(raw[2:-2])
            if reference is None:
                raise ConditionError(f"{raw} at column {position + 1} is not a reference")
            tokens.append(("ref", reference, position))
        elif kind == "number":
            number = float(raw) if any(char in raw for char in ".eE") else int(raw)
            tokens.append(("literal", number, position))
        elif kind == "string":
            tokens.append(("literal", _unquote(raw, position), position))
        elif kind == "op":
            tokens.append(("op", raw, position))
        elif kind == "word":
            tokens.append(_word(raw, position))
        position = match.end()
    return tokens


def _word(raw: str, position: int) -> tuple[str, object, int]:
    if raw in LITERALS:
        return ("literal", LITERALS[raw], position)
    if raw in KEYWORDS:
        return ("keyword", raw, position)
    if raw.startswith((INPUTS + ".", STEPS + ".")):
        reference = parse_reference(raw)
        if reference is not None:
            return ("ref", reference, position)
    raise ConditionError(
        f"unknown name {raw!r} at column {position + 1}: use inputs.NAME, steps.ID.outputs.NAME, "
        "a quoted string, a number, true, false or null"
    )


def _unquote(raw: str, position: int) -> str:
    body = raw[1:-1]
    if "\\" not in body:
        return body
    out = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            escaped = body[index + 1]
            if escaped not in _ESCAPES:
                raise ConditionError(f"unknown escape \\{escaped} in the string at column {position + 1}")
            out.append(_ESCAPES[escaped])
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


# --- grammar -----------------------------------------------------------------
#   or_expr    := and_expr ("or" and_expr)*
#   and_expr   := not_expr ("and" not_expr)*
#   not_expr   := "not" not_expr | comparison
#   comparison := operand (("=="|"!="|"<"|"<="|">"|">="|"in"|"not" "in") operand)?
#   operand    := literal | reference | "(" or_expr ")" | "[" [or_expr ("," or_expr)*] "]"


class _Parser:
    def __init__(self, tokens):
        self.tokens = tokens
        self.index = 0
        self.depth = 0
        self.references: list[Reference] = []

    def parse(self) -> tuple:
        if not self.tokens:
            raise ConditionError("the condition is empty")
        tree = self.or_expr()
        if self.index < len(self.tokens):
            raise self.unexpected()
        return tree

    def peek(self, offset: int = 0):
        index = self.index + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def at(self, kind: str, value: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token[0] == kind and token[1] == value

    def unexpected(self) -> ConditionError:
        token = self.peek()
        if token is None:
            return ConditionError("the condition ends too early")
        shown = token[1].text if token[0] == "ref" else token[1]
        return ConditionError(f"unexpected {shown!r} at column {token[2] + 1}")

    def expect(self, value: str) -> None:
        if not self.at("op", value):
            raise self.unexpected()
        self.index += 1

    def nested(self):
        # Bounded recursion: `((((...` can't exhaust Python's stack.
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ConditionError(f"the condition nests more than {MAX_NESTING} levels")

    def or_expr(self) -> tuple:
        # Flat, not left-nested: a long `a or b or c ...` keeps evaluation shallow.
        items = [self.and_expr()]
        while self.at("keyword", "or"):
            self.index += 1
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else ("or", tuple(items))

    def and_expr(self) -> tuple:
        items = [self.not_expr()]
        while self.at("keyword", "and"):
            self.index += 1
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else ("and", tuple(items))

    def not_expr(self) -> tuple:
        if self.at("keyword", "not"):
            self.index += 1
            self.nested()
            tree = ("not", self.not_expr())
            self.depth -= 1
            return tree
        return self.comparison()

    def comparison(self) -> tuple:
        left = self.operand()
        token = self.peek()
        if token is None:
            return left
        if token[0] == "op" and token[1] in COMPARISONS:
            operator = token[1]
            self.index += 1
        elif self.at("keyword", "in"):
            operator = "in"
            self.index += 1
        elif self.at("keyword", "not") and self.at("keyword", "in", offset=1):
            operator = "not in"
            self.index += 2
        else:
            return left
        return ("compare", operator, left, self.operand())

    def operand(self) -> tuple:
        token = self.peek()
        if token is None:
            raise self.unexpected()
        kind, value, _ = token
        if kind == "literal":
            self.index += 1
            return ("literal", value)
        if kind == "ref":
            self.index += 1
            self.references.append(value)
            return ("ref", value)
        if kind == "op" and value == "(":
            self.index += 1
            self.nested()
            tree = self.or_expr()
            self.expect(")")
            self.depth -= 1
            return tree
        if kind == "op" and value == "[":
            return self.list_literal()
        raise self.unexpected()

    def list_literal(self) -> tuple:
        self.index += 1
        self.nested()
        items = []
        if not self.at("op", "]"):
            items.append(self.or_expr())
            while self.at("op", ","):
                self.index += 1
                items.append(self.or_expr())
        self.expect("]")
        self.depth -= 1
        return ("list", tuple(items))


# --- evaluation --------------------------------------------------------------


def _value(tree: tuple, inputs, step_outputs):
    kind = tree[0]
    if kind == "literal":
        return tree[1]
    if kind == "ref":
        try:
            return lookup(tree[1], inputs, step_outputs)
        except ReferenceError:
            return None
    if kind == "list":
        return [_value(item, inputs, step_outputs) for item in tree[1]]
    if kind == "not":
        return not _truthy(_value(tree[1], inputs, step_outputs))
    if kind == "and":
        return all(_truthy(_value(item, inputs, step_outputs)) for item in tree[1])
    if kind == "or":
        return any(_truthy(_value(item, inputs, step_outputs)) for item in tree[1])
    _, operator, left, right = tree
    return _compare(operator, _value(left, inputs, step_outputs), _value(right, inputs, step_outputs))


def _truthy(value) -> bool:
    return bool(value)


def _kind(value) -> str:
    """JSON's kinds for comparing: integers and floats are both numbers."""
    kind = json_type(value)
    return "number" if kind == "integer" else kind


def _equal(left, right) -> bool:
    kind = _kind(left)
    if kind != _kind(right):
        return False
    if kind == "array":
        return len(left) == len(right) and all(_equal(a, b) for a, b in zip(left, right, strict=True))
    if kind == "object":
        return left.keys() == right.keys() and all(_equal(left[key], right[key]) for key in left)
    return left == right


def _compare(operator: str, left, right) -> bool:
    if operator == "==":
        return _equal(left, right)
    if operator == "!=":
        return not _equal(left, right)
    if operator == "in":
        return _contains(right, left)
    if operator == "not in":
        return not _contains(right, left)
    kind = _kind(left)
    if kind != _kind(right) or kind not in ("number", "string"):
        return False
    if operator == "<":
        return left < right
    if operator == "<=":
        return left <= right
    if operator == ">":
        return left > right
    return left >= right


def _contains(container, item) -> bool:
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, list):
        return any(_equal(item, element) for element in container)
    if isinstance(container, dict):
        return isinstance(item, str) and item in container
    return False
