"""The workflow validator: every problem in a definition, in one pass.

    validate(definition, mode="normal")  -> {"valid": bool, "issues": [...]}
    validate_source(raw_bytes_or_text)    -> the same, after a guarded JSON parse
    validate_inputs(definition, given)    -> (inputs with defaults, issues) for starting a run

An issue is {"code", "severity", "message", "path", "suggestion"}; `path` is
a JSON Pointer into the definition. In "normal" mode only errors make a
definition invalid, in "strict" mode warnings do too. docs/workflow-format.md
lists every code with an example.

Speed: the format is checked by a compiled validator (fastjsonschema); the
slower jsonschema only runs once that check has failed, to list all format
errors instead of the first. Everything else is one walk over the steps and
a linear cycle search, so time grows with steps + edges (bench/validation.py).
Results for registry components are cached by content hash.
"""

import copy
import difflib
import gc
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import contextmanager
from functools import lru_cache

import fastjsonschema
from django.conf import settings
from jsonschema import Draft7Validator, ValidationError, validators
from jsonschema.exceptions import SchemaError

from registry import lookup
from workflows import jsonbody, timings
from workflows.conditions import ConditionError, parse_condition
from workflows.format import (
    FORMAT_SCHEMA,
    JSON_TYPE_OF_CLASS,
    PATTERN_HELP,
    check_format,
    fullmatch_regex,
    json_type,
)
from workflows.graph import describe_cycle, find_index_cycles
from workflows.references import (
    INPUTS,
    NestingError,
    Place,
    Reference,
    escape_pointer,
    is_whole_reference,
    place_pointer,
    scan_references,
)

MODES = ("normal", "strict")
ERROR = "error"
WARNING = "warning"

CACHE_SIZE = 256
# difflib compares a word with every candidate: on a huge, badly broken
# definition, suggestions for the first problems are enough.
SUGGESTION_BUDGET = 200
MAX_SHOWN = 60  # characters of a value quoted in a message
# How deep the places that may hold any value sit: the definition is level 1,
# so an input's schema (/inputs/NAME) is level 3 and a step's inputs
# (/steps/N/inputs) level 4.
SCHEMA_DEPTH = 2
STEP_INPUTS_DEPTH = 3

REFERENCE_HELP = "write {{ inputs.NAME }} or {{ steps.ID.outputs.NAME }}, optionally followed by .key parts"


def make_issue(code: str, message: str, path: str = "", suggestion: str | None = None, severity: str = ERROR):
    return {"code": code, "severity": severity, "message": message, "path": path, "suggestion": suggestion}


# --- entry points --------------------------------------------------------------


def validate(definition, mode: str = "normal", components: dict | None = None) -> dict:
    """Validate a parsed definition against the format and the components.

    `components` maps names to objects with .input_schema, .output_schema and
    .enabled (registry.lookup.ComponentInfo); by default the registry's, and
    then the result is cached. Explicit components are never cached.
    """
    _check_mode(mode)
    with timings.timed("validation"):  # metrics (issue 6): where time goes
        return _validate(definition, mode, components)


def parse_definition(raw: bytes | str) -> tuple[object | None, list[dict]]:
    """Parse JSON text with guards: (value, []) or (None, [one issue]).

    The size is checked before parsing; the nesting depth after, and
    json.loads' own RecursionError on absurd nesting becomes an issue too.
    The text is read by the same strict reader as request bodies
    (workflows/jsonbody.py): a value it refuses (NaN, a lone surrogate...)
    is an invalid_json issue whose path points at the value.
    """
    limit = settings.OAWEB_MAX_DEFINITION_BYTES
    if isinstance(raw, bytes | bytearray | memoryview):
        size = len(raw)
        if size > limit:
            return None, [_too_large(size, limit)]
        try:
            text = bytes(raw).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return None, [
                make_issue("invalid_json", f"the definition is not UTF-8 text: {exc.reason} at byte {exc.start}")
            ]
    elif isinstance(raw, str):
        # A character is at least one byte: skip encoding what is surely too large.
        size = len(raw) if len(raw) > limit else len(raw.encode("utf-8", "surrogatepass"))
        if size > limit:
            return None, [_too_large(size, limit)]
        text = raw
    else:
        raise TypeError(f"parse_definition expects bytes or str, not {type(raw).__name__}")
    try:
        value = jsonbody.loads(text, settings.OAWEB_MAX_DEFINITION_DEPTH)
    except json.JSONDecodeError as exc:
        return None, [make_issue("invalid_json", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]
    except jsonbody.Refused as refused:
        if refused.code == jsonbody.TOO_DEEP:
            return None, [_too_deep()]
        return None, [make_issue("invalid_json", refused.problem, refused.pointer)]
    return value, []


def validate_source(raw: bytes | str, mode: str = "normal", components: dict | None = None) -> dict:
    """parse_definition, then validate."""
    _check_mode(mode)
    with timings.timed("validation"):  # metrics (issue 6): where time goes
        value, issues = parse_definition(raw)
        if issues:
            return _result(issues, mode)
        return _validate(value, mode, components)


def validate_inputs(definition: dict, given: dict | None) -> tuple[dict, list[dict]]:
    """Check a run's inputs against the workflow's input schemas; apply defaults.

    Returns (values, issues). Issue paths point into a request body of the
    form {"inputs": {...}}. Codes: missing_input (no value and no default),
    invalid_input (the value does not fit the input's schema, or can't be
    stored: NaN, a lone surrogate, NUL), unknown_input (a warning; the value
    is dropped), schema (`given` is not an object).
    """
    declared = definition.get("inputs") if isinstance(definition, dict) else None
    declared = declared if isinstance(declared, dict) else {}
    if given is None:
        given = {}
    if not isinstance(given, dict):
        return {}, [make_issue("schema", f"run inputs must be an object, not {json_type(given)}", "/inputs")]
    try:
        # The doors read JSON strictly already; this holds for callers that built values in Python.
        jsonbody.check_value(given)
    except jsonbody.Refused as refused:
        return {}, [make_issue("invalid_input", refused.problem, f"/inputs{refused.pointer}")]
    issues = []
    values = {}
    for name in given:
        if name not in declared:
            issues.append(
                make_issue(
                    "unknown_input",
                    f"the workflow has no input `{name}`; the value is ignored",
                    f"/inputs/{escape_pointer(name)}",
                    _did_you_mean(name, list(declared)),
                    WARNING,
                )
            )
    for name, schema in declared.items():
        path = f"/inputs/{escape_pointer(name)}"
        if name in given:
            value = given[name]
        elif isinstance(schema, dict) and "default" in schema:
            value = copy.deepcopy(schema["default"])
        else:
            issues.append(make_issue("missing_input", f"the workflow needs input `{name}`", path))
            continue
        problem = _schema_problem(schema, value) if isinstance(schema, dict) else None
        if problem is not None:
            issues.append(make_issue("invalid_input", f"input `{name}`: {problem}", path))
        values[name] = value
    return values, issues


# --- results and their cache -----------------------------------------------------

_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


# Issues that refuse a component as the registry has it now.
REGISTRY_REFUSALS = frozenset({"unknown_component", "disabled_component"})


def _validate(definition, mode: str, components: dict | None) -> dict:
    if components is not None:
        with _collector_paused():
            return _result(_Checker(definition, components).run(), mode)
    digest = _digest(definition)
    generation = lookup.generation()
    issues = _check_against_registry(definition, mode, digest)
    if any(issue["code"] in REGISTRY_REFUSALS for issue in issues):
        # This process may see the registry up to a second late: before
        # refusing a component, make sure it was not registered or enabled
        # elsewhere a moment ago.
        lookup.recheck()
        if lookup.generation() != generation:
            issues = _check_against_registry(definition, mode, digest)
    return _result(issues, mode)


def _check_against_registry(definition, mode: str, digest: str | None) -> list[dict]:
    """The issues of `definition` with the registry's components, cached per registry generation."""
    key = (digest, mode, lookup.generation()) if digest is not None else None
    if key is not None:
        with _cache_lock:
            stored = _cache.get(key)
            if stored is not None:
                _cache.move_to_end(key)
        if stored is not None:
            return [dict(zip(ISSUE_KEYS, values, strict=True)) for values in stored]
    registry_components = lookup.components()
    with _collector_paused():
        issues = _Checker(definition, registry_components).run()
    if key is not None:
        # Stored as tuples: nothing a caller does to a result can reach the cache.
        frozen = tuple(tuple(issue[name] for name in ISSUE_KEYS) for issue in issues)
        with _cache_lock:
            _cache[key] = frozen
            _cache.move_to_end(key)
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return issues


ISSUE_KEYS = ("code", "severity", "message", "path", "suggestion")


@contextmanager
def _collector_paused():
    """Pause Python's cycle collector while a definition is checked.

    A check allocates many small objects while a large definition is alive;
    the collector then re-scans that definition again and again, which made
    50,000 steps cost twice as much per step as 1,000 (bench/validation.py).
    Nothing made here forms cycles, so reference counting frees it all. The
    collector is only resumed if it was running: another thread may have
    paused it, and an application that disabled it keeps it disabled.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _digest(definition) -> str | None:
    """SHA-256 of the definition's canonical JSON; None when it has none (then it isn't cached)."""
    try:
        canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):  # not JSON (a set), or absurdly deep: don't cache
        return None
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _result(issues: list[dict], mode: str) -> dict:
    if mode == "strict":
        valid = not issues
    else:
        valid = not any(issue["severity"] == ERROR for issue in issues)
    return {"valid": valid, "issues": issues}


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")


def _too_large(size: int, limit: int) -> dict:
    return make_issue(
        "too_large",
        f"the definition is {size:,} bytes; at most {limit:,} are accepted",
        suggestion="split the workflow, or raise OAWEB_MAX_DEFINITION_BYTES",
    )


def _too_deep(path: str = "") -> dict:
    limit = settings.OAWEB_MAX_DEFINITION_DEPTH
    where = "the definition" if not path else f"the value at {path}"
    return make_issue(
        "too_deep",
        f"{where} nests lists and objects more than {limit} levels deep (counted from the top of the definition)",
        path,
        suggestion="flatten the nested values, or raise OAWEB_MAX_DEFINITION_DEPTH",
    )


def nesting_exceeds(value, limit: int) -> bool:
    """Whether lists and objects nest deeper than `limit` (an explicit stack, no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


# --- types -------------------------------------------------------------------------


INTEGER_OR_NUMBER = frozenset(("integer", "number"))
_TYPES_OF_KIND = {kind: frozenset((kind,)) for kind in JSON_TYPE_OF_CLASS.values()} | {"integer": INTEGER_OR_NUMBER}
# By class first, without a call: float is left out, a whole float (2.0) being an integer too.
_TYPES_OF_CLASS = {cls: _TYPES_OF_KIND[kind] for cls, kind in JSON_TYPE_OF_CLASS.items() if cls is not float}


def _value_types(value) -> frozenset[str]:
    types = _TYPES_OF_CLASS.get(type(value))
    if types is not None:
        return types
    kind = json_type(value)
    if kind == "number" and value.is_integer():
        return INTEGER_OR_NUMBER
    return _TYPES_OF_KIND.get(kind) or frozenset((kind,))


def _declared_types(schema) -> frozenset[str] | None:
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


def _fits(actual: frozenset[str], expected: frozenset[str]) -> bool:
    if actual & expected:
        return True
    return "integer" in actual and "number" in expected


def _describe_types(types: frozenset[str]) -> str:
    shown = sorted(types - {"integer"} if "number" in types else types)
    return " or ".join(shown)


def _closed_properties(schema) -> dict | None:
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


def _schema_at(schema, path: tuple[str, ...]):
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


# --- format errors ------------------------------------------------------------------


def _ecma_pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{_shown(instance)} does not match {pattern!r}")


@lru_cache(maxsize=256)
def _compiled(pattern: str):
    return fullmatch_regex(pattern)


# Draft 7 with ECMA 262's `$`, as fastjsonschema reads it: both must agree.
ECMAValidator = validators.extend(Draft7Validator, {"pattern": _ecma_pattern})
_FORMAT_VALIDATOR = ECMAValidator(FORMAT_SCHEMA)


def _pointer(parts) -> str:
    return "".join(f"/{escape_pointer(part)}" for part in parts)


def _shown(value) -> str:
    """A value quoted for a message: `plain` text, else repr() (control characters escaped), shortened."""
    if isinstance(value, str) and value.isprintable() and "`" not in value and len(value) <= MAX_SHOWN:
        return f"`{value}`"
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _did_you_mean(word, candidates) -> str | None:
    if not isinstance(word, str) or not candidates:
        return None
    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"did you mean `{matches[0]}`?" if matches else None


def _format_issues(error: ValidationError) -> list[dict]:
    """One or more `schema` issues, worded for people, for one jsonschema error."""
    path = _pointer(error.absolute_path)
    keyword = error.validator
    instance = error.instance
    if "propertyNames" in error.schema_path:
        help_text = PATTERN_HELP.get(error.validator_value, "") if keyword == "pattern" else ""
        return [
            make_issue(
                "schema",
                f"the name {_shown(instance)} is not allowed" + (f": use {help_text}" if help_text else ""),
                f"{path}/{escape_pointer(instance)}",
            )
        ]
    if keyword == "additionalProperties" and isinstance(instance, dict):
        allowed = list(error.schema.get("properties", {}))
        return [
            make_issue(
                "schema", f"unknown key {_shown(key)}", f"{path}/{escape_pointer(key)}", _did_you_mean(key, allowed)
            )
            for key in instance
            if key not in allowed
        ]
    if keyword == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        message = f"must be {_article(expected)}, not {_article(json_type(instance))}"
    elif keyword == "pattern":
        help_text = PATTERN_HELP.get(error.validator_value)
        message = f"{_shown(instance)} is not allowed" + (f": use {help_text}" if help_text else "")
    elif keyword == "required":
        message = error.message
    elif keyword == "minItems" and error.validator_value == 1:
        message = "must not be empty"
    elif keyword == "enum":
        choices = ", ".join(json.dumps(choice) for choice in error.validator_value)
        message = f"{_shown(instance)} is not one of {choices}"
    else:
        message = error.message if len(error.message) <= 200 else error.message[:199] + "…"
    return [make_issue("schema", message, path)]


def _article(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _schema_problem(schema: dict, value) -> str | None:
    """The first way `value` fails `schema`, or None if it fits."""
    try:
        error = next(ECMAValidator(schema).iter_errors(value), None)
    except Exception as exc:  # a user's schema can break in many ways (bad regex, unresolvable $ref)
        return f"its schema can't be used: {exc}"
    if error is None:
        return None
    where = _pointer(error.absolute_path)
    message = error.message if len(error.message) <= 200 else error.message[:199] + "…"
    return f"{message} (at {where})" if where else message


class _Contract:
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
        self.inputs = _closed_properties(schema)
        self.input_types = {
            key: types for key, declared in properties.items() if (types := _declared_types(declared)) is not None
        }
        self.output_schema = getattr(info, "output_schema", None)
        self.outputs = _closed_properties(self.output_schema)


# --- the checks -----------------------------------------------------------------------


class _Checker:
    """One validation run. Tolerates any shape: the format check reports what is wrong."""

    def __init__(self, definition, components: dict):
        self.definition = definition
        self.components = components
        self.issues: list[dict] = []
        self.suggestions_left = SUGGESTION_BUDGET
        self.step_index: dict[str, int] = {}  # id -> index of its first step
        # Steps are known by their index from here on: lists indexed by number
        # stay in the CPU caches on large definitions where more dicts keyed
        # by id did not (bench/validation.py).
        self.step_ids: list[str | None] = []  # index -> id, None for a step without one or a repeated id
        self.step_contracts: list[_Contract | None] = []  # index -> contract of its component
        self.parents: list[Sequence[int]] = []  # index -> indexes of the steps it depends on
        # True while every step only depends on steps written before it: the
        # list order is then a run order and there can be no cycle to look for.
        self.in_order = True
        self.declared_inputs: dict = {}
        self._candidates: dict[str, list[str]] = {}
        self._contracts: dict[str, _Contract | None] = {}  # component name -> contract, None when unknown
        self.max_depth = settings.OAWEB_MAX_DEFINITION_DEPTH

    def add(self, code, message, path, suggestion=None, severity=ERROR):
        self.issues.append(make_issue(code, message, path, suggestion, severity))

    def suggest(self, word, kind: str, candidates=None) -> str | None:
        if self.suggestions_left <= 0:
            return None
        self.suggestions_left -= 1
        if candidates is None:
            if kind not in self._candidates:
                source = self.step_index if kind == "step" else self.components
                self._candidates[kind] = list(source)
            candidates = self._candidates[kind]
        return _did_you_mean(word, candidates)

    def run(self) -> list[dict]:
        definition = self.definition
        if not isinstance(definition, dict):
            self.add(
                "schema", f"a workflow definition must be a JSON object, not {_article(json_type(definition))}", ""
            )
            return self.issues
        if not self.check_format():
            return self.issues
        steps = definition.get("steps")
        steps = steps if isinstance(steps, list) else []
        inputs = definition.get("inputs")
        self.declared_inputs = inputs if isinstance(inputs, dict) else {}
        self.check_input_schemas()
        self.index_steps(steps)
        for index, step in enumerate(steps):
            if isinstance(step, dict):
                self.check_step(index, step)
        self.check_outputs()
        self.check_cycles()
        return self.issues

    def check_format(self) -> bool:
        """Report format errors; False if the definition is too deep to check further.

        When the compiled check passes, deep nesting can only sit where the
        format allows any value (input schemas, step inputs): those checks
        watch the depth themselves, so the common case walks nothing twice.
        """
        try:
            check_format(self.definition)
            return True
        except fastjsonschema.JsonSchemaValueException as fast_error:
            first = fast_error
        # jsonschema recurses, and repr()s values in its messages: guard it.
        if nesting_exceeds(self.definition, self.max_depth):
            self.issues.append(_too_deep())
            return False
        found = []
        for error in _FORMAT_VALIDATOR.iter_errors(self.definition):
            found.extend(_format_issues(error))
        if not found:  # the two validators disagree: still report the fast one's finding
            found.append(make_issue("schema", first.message, _pointer(first.path[1:])))
        self.issues.extend(found)
        return True

    def check_input_schemas(self) -> None:
        for name, schema in self.declared_inputs.items():
            if not isinstance(schema, dict):
                continue  # a format error already
            path = f"/inputs/{escape_pointer(name)}"
            if nesting_exceeds(schema, self.max_depth - SCHEMA_DEPTH):
                self.issues.append(_too_deep(path))
                continue
            try:
                ECMAValidator.check_schema(schema)
            except SchemaError as exc:
                self.add("schema", f"input `{name}` has an invalid JSON Schema: {exc.message}", path)
                continue
            if "default" in schema:
                problem = _schema_problem(schema, schema["default"])
                if problem is not None:
                    self.add(
                        "schema", f"the default of input `{name}` does not fit its schema: {problem}", f"{path}/default"
                    )

    def index_steps(self, steps: list) -> None:
        count = len(steps)
        step_index = self.step_index
        step_ids = self.step_ids = [None] * count
        step_contracts = self.step_contracts = [None] * count
        self.parents = [()] * count
        for index, step in enumerate(steps):
            if not isinstance(step, dict):
                continue
            step_id = step.get("id")
            if not isinstance(step_id, str):
                continue
            first = step_index.setdefault(step_id, index)
            if first != index:
                self.add(
                    "duplicate_step_id",
                    f"step id `{step_id}` is already used by the step at /steps/{first}",
                    f"/steps/{index}/id",
                    "give every step its own id",
                )
                continue
            step_ids[index] = step_id
            name = step.get("component")
            if isinstance(name, str):
                step_contracts[index] = self.contract(name)

    def check_step(self, index: int, step: dict) -> None:
        base = f"/steps/{index}"
        parents: list[int] = []
        info = self.check_component(base, step.get("component"))

        inputs = step.get("inputs", {})
        if isinstance(inputs, dict):
            try:
                found, malformed = scan_references(inputs, f"{base}/inputs", self.max_depth - STEP_INPUTS_DEPTH)
            except NestingError:
                self.issues.append(_too_deep(f"{base}/inputs"))
            else:
                self.check_references(found, malformed, index, parents)
                if info is not None:
                    self.check_component_inputs(base, step, inputs, self.contract(step["component"]))

        depends_on = step.get("depends_on")
        if isinstance(depends_on, list):
            for position, parent in enumerate(depends_on):
                if not isinstance(parent, str):
                    continue
                parent_index = self.step_index.get(parent)
                if parent_index is not None:
                    parents.append(parent_index)
                    if parent_index >= index:
                        self.in_order = False
                else:
                    self.add(
                        "unknown_reference",
                        f"depends on `{parent}`, but there is no step `{parent}`",
                        f"{base}/depends_on/{position}",
                        self.suggest(parent, "step"),
                    )

        when = step.get("when")
        if isinstance(when, str):
            try:
                condition = parse_condition(when)
            except ConditionError as exc:
                self.add("invalid_condition", f"`when` does not parse: {exc}", f"{base}/when")
            else:
                self.check_references([(ref, (base, "when")) for ref in condition.references], [], index, parents)

        if parents and self.step_ids[index] is not None:
            self.parents[index] = parents

    def check_component(self, base: str, name):
        if not isinstance(name, str):
            return None
        info = self.components.get(name)
        if info is None:
            self.add(
                "unknown_component",
                f"no component `{name}` in the registry",
                f"{base}/component",
                self.suggest(name, "component"),
            )
            return None
        if not getattr(info, "enabled", True):
            self.add(
                "disabled_component",
                f"component `{name}` is disabled",
                f"{base}/component",
                "enable it in the admin, or use another component",
            )
        return info

    def check_references(self, found, malformed, index: int | None, parents: list[str] | None) -> None:
        """Check references made by the step at `index` into `parents` (None, None: the workflow's outputs)."""
        for text, place in malformed:
            self.add("unknown_reference", f"{_shown(text)} is not a reference", place_pointer(place), REFERENCE_HELP)
        for reference, place in found:
            parent = self.check_reference(reference, place)
            if parent is not None and index is not None:
                parents.append(parent)
                if parent >= index:
                    self.in_order = False

    def check_reference(self, reference: Reference, place: Place) -> int | None:
        """Report a reference to nothing; the index of the step it reads, if any."""
        if reference.source == INPUTS:
            if reference.name in self.declared_inputs:
                return None
            self.add(
                "unknown_reference",
                f"`{reference.text}`: the workflow declares no input `{reference.name}`",
                place_pointer(place),
                self.suggest(reference.name, "input", list(self.declared_inputs))
                or f"declare it under /inputs/{escape_pointer(reference.name)}",
            )
            return None
        parent = self.step_index.get(reference.name)
        if parent is None:
            self.add(
                "unknown_reference",
                f"`{reference.text}`: there is no step `{reference.name}`",
                place_pointer(place),
                self.suggest(reference.name, "step"),
            )
            return None
        contract = self.step_contracts[parent]
        outputs = contract.outputs if contract is not None else None
        if outputs is not None and reference.output not in outputs:
            component = contract.name or "its component"
            declared = ", ".join(f"`{name}`" for name in outputs) or "none"
            self.add(
                "unknown_reference",
                f"`{reference.text}`: step `{reference.name}` ({component}) has no output "
                f"`{reference.output}` (outputs: {declared})",
                place_pointer(place),
                self.suggest(reference.output, "output", list(outputs)),
            )
        return parent

    def contract(self, name: str) -> _Contract | None:
        """The contract of the named component, None if there is none: read once per validation."""
        if name not in self._contracts:
            info = self.components.get(name)
            self._contracts[name] = _Contract(info) if info is not None else None
        return self._contracts[name]

    def check_component_inputs(self, base: str, step: dict, inputs: dict, contract: _Contract) -> None:
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
            expected = types.get(key)
            if expected is not None:
                self.check_type(value, expected, base, key, name)

    def check_type(self, value, expected: frozenset[str], base: str, key: str, component: str) -> None:
        """Report a value, or the reference it holds, of a type that input `key` of `component` does not take."""
        reference = is_whole_reference(value)
        actual = _value_types(value) if reference is None else self.reference_types(reference)
        if actual is None or _fits(actual, expected):
            return
        # Messages are built only here: most inputs fit.
        target = f"input `{key}` of `{component}`"
        if reference is None:
            message = f"{target} expects {_describe_types(expected)}, not {_describe_types(actual)}"
        else:
            message = (
                f"`{reference.text}` is declared as {_describe_types(actual)} but {target} expects "
                f"{_describe_types(expected)}"
            )
        self.add("type_mismatch", message, f"{base}/inputs/{escape_pointer(key)}")

    def reference_types(self, reference: Reference) -> frozenset[str] | None:
        """The types a reference's value is declared to have, or None when not known."""
        if reference.source == INPUTS:
            schema = self.declared_inputs.get(reference.name)
        else:
            parent = self.step_index.get(reference.name)
            contract = self.step_contracts[parent] if parent is not None else None
            output_schema = contract.output_schema if contract is not None else None
            properties = output_schema.get("properties") if isinstance(output_schema, dict) else None
            schema = properties.get(reference.output) if isinstance(properties, dict) else None
        return _declared_types(_schema_at(schema, reference.path))

    def check_outputs(self) -> None:
        outputs = self.definition.get("outputs")
        if not isinstance(outputs, dict):
            return
        for name, value in outputs.items():
            if isinstance(value, str):
                found, malformed = scan_references(value, f"/outputs/{escape_pointer(name)}")
                self.check_references(found, malformed, None, None)

    def check_cycles(self) -> None:
        if self.in_order:
            return
        for numbers in find_index_cycles(self.parents):
            # Start at the step written first, so the message reads the same every time.
            first = numbers.index(min(numbers))
            numbers = numbers[first:] + numbers[:first]
            cycle = [self.step_ids[number] for number in numbers]
            if len(cycle) == 1:
                message = f"step `{cycle[0]}` depends on itself"
            else:
                message = f"steps form a cycle: {describe_cycle(cycle)}"
            self.add("cycle", message, f"/steps/{numbers[0]}", "remove one of these dependencies")
