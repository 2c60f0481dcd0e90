"""The workflow validator: every problem in a definition, in one pass.

    validate(definition, mode="normal")  -> {"valid": bool, "issues": [...]}
    validate_source(raw_bytes_or_text)    -> the same, after a guarded JSON parse
    validate_inputs(definition, given)    -> (inputs with defaults, issues) for starting a run

An issue is {"code", "severity", "message", "path", "suggestion"}; `path` is
a JSON Pointer into the definition. The checks build Issue objects
(issues.py); the results returned here hold them as dicts (Issue.as_dict),
new ones on every call. In "normal" mode only errors make a
definition invalid, in "strict" mode warnings do too. docs/workflow-format.md
lists every code with an example.

Speed: the format is checked by a compiled validator (fastjsonschema); the
slower jsonschema only runs once that check has failed, to list all format
errors instead of the first. Everything else is one walk over the steps and
a linear cycle search, so time grows with steps + edges (bench/validation.py).
Results for registry components are cached by content hash.

This module runs a validation and caches its results; the checks themselves
live beside it: schema_checks.py (format errors, input schemas),
step_checks.py (steps, references, outputs), contracts.py (step inputs
against components' schemas), map_checks.py (map steps, issue 19),
secret_checks.py (credential references, issue 20), run_inputs.py (a run's
inputs), parsing.py (JSON text and its limits) and issues.py (Issue and its
wording).
"""

import gc
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import contextmanager

import fastjsonschema
from django.conf import settings

from registry import lookup
from workflows.definitions.contracts import Contract as _Contract
from workflows.definitions.contracts import ContractChecks
from workflows.definitions.format import FORMAT_SCHEMA, check_format, json_type
from workflows.definitions.graph import describe_cycle, find_index_cycles
from workflows.definitions.issues import ERROR, WARNING, Issue, article, as_dicts, make_issue, pointer
from workflows.definitions.issues import did_you_mean as _did_you_mean
from workflows.definitions.map_checks import MapChecks
from workflows.definitions.parsing import nesting_exceeds, parse_definition, read_definition, too_deep
from workflows.definitions.run_inputs import validate_inputs
from workflows.definitions.schema_checks import ECMAValidator, SchemaChecks, format_issues
from workflows.definitions.secret_checks import SecretChecks, SecretInfo
from workflows.definitions.step_checks import StepChecks
from workflows.metrics import timings

# Callers need only this module, though some of these names are defined beside it.
__all__ = [
    "ECMAValidator",
    "ERROR",
    "MODES",
    "Issue",
    "SecretInfo",
    "WARNING",
    "clear_cache",
    "make_issue",
    "nesting_exceeds",
    "parse_definition",
    "validate",
    "validate_inputs",
    "validate_source",
]

MODES = ("normal", "strict")

CACHE_SIZE = 256
# difflib compares a word with every candidate: on a huge, badly broken
# definition, suggestions for the first problems are enough.
SUGGESTION_BUDGET = 200

# The compiled check finds the first format error; this one lists them all.
_FORMAT_VALIDATOR = ECMAValidator(FORMAT_SCHEMA)


# --- entry points --------------------------------------------------------------


def validate(
    definition, mode: str = "normal", components: dict | None = None, secrets: dict[str, SecretInfo] | None = None
) -> dict:
    """Validate a parsed definition against the format and the components.

    `components` maps names to objects with .input_schema, .output_schema and
    .enabled (registry.lookup.ComponentInfo); by default the registry's, and
    then the result is cached. Explicit components are never cached.
    `secrets` (issue 20): the credentials `{{ secrets.NAME }}` may name (those
    of the workflow's team); None when no team is known: then only where such
    references stand is checked (secret_checks.py).
    """
    _check_mode(mode)
    with timings.timed("validation"):  # timed so the metrics show what validating costs
        return _validate(definition, mode, components, secrets)


def validate_source(raw: bytes | str, mode: str = "normal", components: dict | None = None) -> dict:
    """parse_definition, then validate."""
    _check_mode(mode)
    with timings.timed("validation"):  # timed so the metrics show what validating costs
        value, issues = read_definition(raw)
        if issues:
            return _result(issues, mode)
        return _validate(value, mode, components)


# --- results and their cache -----------------------------------------------------

_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


# Issues that refuse a component as the registry has it now.
REGISTRY_REFUSALS = frozenset({"unknown_component", "disabled_component"})


def _validate(definition, mode: str, components: dict | None, secrets: dict | None = None) -> dict:
    if components is not None:
        with _collector_paused():
            return _result(_Checker(definition, components, secrets).run(), mode)
    digest = _digest(definition)
    generation = lookup.generation()
    issues = _check_against_registry(definition, mode, digest, secrets)
    if any(issue.code in REGISTRY_REFUSALS for issue in issues):
        # This process may see the registry up to a second late: before
        # refusing a component, make sure it was not registered or enabled
        # elsewhere a moment ago.
        lookup.recheck()
        if lookup.generation() != generation:
            issues = _check_against_registry(definition, mode, digest, secrets)
    return _result(issues, mode)


def _check_against_registry(
    definition, mode: str, digest: str | None, secrets: dict | None = None
) -> tuple[Issue, ...]:
    """The issues of `definition` with the registry's components, cached per registry generation.

    The cache holds tuples of Issues, both immutable: what a caller does to a
    result (its dicts are made by _result on every call) can't reach it.
    The credentials known (issue 20) are part of the key: another team's may differ.
    """
    known = None if secrets is None else tuple(sorted(secrets.items()))
    key = (digest, mode, lookup.generation(), known) if digest is not None else None
    if key is not None:
        with _cache_lock:
            stored = _cache.get(key)
            if stored is not None:
                _cache.move_to_end(key)
        if stored is not None:
            return stored
    registry_components = lookup.components()
    with _collector_paused():
        issues = tuple(_Checker(definition, registry_components, secrets).run())
    if key is not None:
        with _cache_lock:
            _cache[key] = issues
            _cache.move_to_end(key)
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return issues


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


def _result(issues: Sequence[Issue], mode: str) -> dict:
    """The JSON-facing result: {"valid": bool, "issues": [new dicts]}."""
    if mode == "strict":
        valid = not issues
    else:
        valid = not any(issue.severity == ERROR for issue in issues)
    return {"valid": valid, "issues": as_dicts(issues)}


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")


# --- the checker ------------------------------------------------------------------------


class _Checker(StepChecks, ContractChecks, SchemaChecks, SecretChecks, MapChecks):
    """One validation run. Tolerates any shape: the format check reports what is wrong.

    The checks are in the classes it extends; what they share (the state, the
    issue list, suggestions and component contracts) and the checks of the
    whole definition are here.
    """

    def __init__(self, definition, components: dict, secrets: dict | None = None):
        self.definition = definition
        self.components = components
        self.secrets = secrets  # issue 20: credential name -> SecretInfo, None when no team is known
        self.issues: list[Issue] = []
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

    def contract(self, name: str) -> _Contract | None:
        """The contract of the named component, None if there is none: read once per validation."""
        if name not in self._contracts:
            info = self.components.get(name)
            self._contracts[name] = _Contract(info) if info is not None else None
        return self._contracts[name]

    def run(self) -> list[Issue]:
        definition = self.definition
        if not isinstance(definition, dict):
            self.add("schema", f"a workflow definition must be a JSON object, not {article(json_type(definition))}", "")
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
            self.issues.append(too_deep())
            return False
        found = []
        for error in _FORMAT_VALIDATOR.iter_errors(self.definition):
            found.extend(format_issues(error))
        if not found:  # the two validators disagree: still report the fast one's finding
            found.append(make_issue("schema", first.message, pointer(first.path[1:])))
        self.issues.extend(found)
        return True

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
