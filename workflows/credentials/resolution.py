"""What a step attempt reads of its team's credentials, and what is recorded in their place.

The engine (execution/attempts.py `_prepare`) asks `for_step` once per
attempt. Which credentials a step reads is found once per compiled version
and step (a dict lookup after that), so a step that reads none costs no
query and no copy. For one that does:

* its inputs are resolved with each secret field shown as `•••` (`shown`):
  those are what the engine checks, records (StepRun.inputs), shows and
  sends in events;
* `filled` resolves them again with the values, for the call alone
  (Call.secrets.inputs), and from then on this process masks the values in
  whatever it redacts (logs, the step's error: workflows/secret_masks.py);
* `hide` masks them in the component's outputs before they are recorded.

The credentials are those of the team owning the run's workflow: another
team's, whatever its name, is never found.
"""

import re
import threading

from workflows.credentials import crypto
from workflows.credentials.models import Credential
from workflows.credentials.types import TYPES
from workflows.definitions.references import SECRETS, ReferenceError, find_references, resolve
from workflows.definitions.secret_checks import SecretInfo
from workflows.execution.connections import retrying
from workflows.secret_masks import MASK, forms, masks

_read: dict[tuple[int, str, str], frozenset[str]] = {}  # (version id, content hash, step id) -> names
_read_lock = threading.Lock()
READ_CACHE_SIZE = 20_000


def names_read(version_id: int, version_hash: str, step) -> frozenset[str]:
    """The credentials a step's inputs name, found once per version and step."""
    key = (version_id, version_hash, step.id)
    names = _read.get(key)
    if names is None:
        names = frozenset(ref.name for ref, _ in find_references(step.inputs) if ref.source == SECRETS)
        with _read_lock:
            if len(_read) >= READ_CACHE_SIZE:
                _read.clear()  # cheap to find again; no LRU bookkeeping on the hot path
            _read[key] = names
    return names


def for_step(claimed, step) -> "Secrets | None":
    """The credentials the step reads (None when it reads none: no query); ReferenceError if unreadable."""
    names = names_read(claimed.version_id, claimed.version_hash, step)
    if not names:
        return None
    rows = Credential.objects.filter(team__workflows__runs=claimed.run_id, name__in=names).values_list(
        "name", "kind", "ciphertext"
    )
    found = {}
    for name, kind, ciphertext in retrying(list, rows):
        try:
            found[name] = (kind, crypto.decrypt(ciphertext))
        except crypto.Undecryptable as exc:
            raise ReferenceError(f"secrets.{name}: {exc}") from None
    return Secrets(found)


class Secrets:
    """One attempt's credentials: their values for the call, and `•••` everywhere else."""

    def __init__(self, found: dict[str, tuple[str, dict]]):
        self.values = {name: values for name, (_, values) in found.items()}
        self.shown = {}
        secret_values = []
        for name, (kind, values) in found.items():
            secret = TYPES[kind].secret if kind in TYPES else frozenset(values)
            self.shown[name] = {field: MASK if field in secret else value for field, value in values.items()}
            secret_values.extend(value for field, value in values.items() if field in secret)
        self.secret_values = tuple(value for value in secret_values if isinstance(value, str))
        every = sorted({form for value in self.secret_values for form in forms(value)}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, every))) if every else None
        self.inputs: dict | None = None  # filled in by `filled`
        masks.hold(self, self.secret_values)

    def filled(self, step_inputs, run_inputs: dict, upstream: dict, validate, item=None) -> "Secrets":
        """Resolve the inputs again with the values, for the call only; `validate` is the input schema's.

        `item`: a map item's (issue 19), as its inputs were resolved with it.
        """
        self.inputs = validate(resolve(step_inputs, run_inputs, upstream, secrets=self.values, item=item))
        return self

    def hide(self, value):
        """A JSON-like value with every secret value in its strings masked (a component may echo one)."""
        if isinstance(value, str):
            return value if self._pattern is None else self._pattern.sub(MASK, value)
        if isinstance(value, dict):
            return {key: self.hide(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.hide(item) for item in value]
        return value


def shapes(team) -> dict[str, SecretInfo]:
    """What validation may know of a team's credentials: name -> (type, its fields); never a value."""
    rows = Credential.objects.filter(team=team).values_list("name", "kind")
    return {
        name: SecretInfo(kind, frozenset(TYPES[kind].fields) if kind in TYPES else frozenset()) for name, kind in rows
    }


def mentions_secrets(definition) -> bool:
    """Whether a definition may read credentials: a cheap test before validating with the team's."""
    steps = definition.get("steps") if isinstance(definition, dict) else None
    if not isinstance(steps, list):
        return False
    return any(
        ref.source == SECRETS
        for step in steps
        if isinstance(step, dict)
        for ref, _ in find_references(step.get("inputs"))
    )
