"""Credentials' values held by this process's step attempts, masked as `•••` wherever `redact` runs (issue 20).

A step that reads `{{ secrets.NAME }}` holds its credential's values while
it runs (workflows/credentials/resolution.py): the component gets them, and
anything this process writes meanwhile (its log lines, the step's error, a
traceback on the console) goes through `redaction.redact`, which calls
`masks.mask` first. The values are matched as they are, JSON-escaped and
URL-encoded, so an error quoting a request URL or a JSON body masks them too.

A hold lasts as long as its owner (the attempt's Secrets object, which the
call keeps) lives, and GRACE seconds more: the call's error is made after it
returned. Owners are kept in weak sets, one per value, looked at once every
PURGE_EVERY seconds: none of this runs in the garbage collector, a hold is a
set insertion, and a process that holds nothing pays one attribute read per
redact.

Values shorter than MIN_CHARS are not masked (they would garble every text);
the credential types require secret fields at least that long.
"""

import json
import re
import threading
import time
import weakref
from urllib.parse import quote, quote_plus

MASK = "•••"
MIN_CHARS = 4
GRACE = 30.0  # seconds a value stays masked after its attempt let go of it
PURGE_EVERY = 1.0


def forms(value: str) -> set[str]:
    """The ways a value appears in text: as is, inside JSON, percent-encoded."""
    if len(value) < MIN_CHARS:
        return set()
    return {value, json.dumps(value)[1:-1], quote(value, safe=""), quote_plus(value, safe="")}


class HeldSecrets:
    """The values held, grouped by value: each group's owners in a WeakSet, so a hold is a set insertion.

    The pattern is rebuilt only when a value comes or goes, never per hold:
    a thousand attempts reading one credential share one group.
    """

    def __init__(self):
        self._lock = threading.Lock()
        # The forms of a value -> (its owners, [when an owner was last seen alive]).
        self._groups: dict[frozenset[str], tuple[weakref.WeakSet, list[float]]] = {}
        self._pattern: re.Pattern | None = None  # read without the lock: replaced whole, never changed
        self._purged = 0.0

    def hold(self, owner, values) -> None:
        """Mask `values` (strings) while `owner` lives, and GRACE seconds after."""
        groups = [frozenset(forms(value)) for value in values if isinstance(value, str)]
        now = time.monotonic()
        with self._lock:
            changed = False
            for found in groups:
                if not found:
                    continue
                group = self._groups.get(found)
                if group is None:
                    group = self._groups[found] = (weakref.WeakSet(), [now])
                    changed = True
                group[0].add(owner)
                group[1][0] = now
            if now - self._purged >= PURGE_EVERY:
                changed = self._purge(now) or changed
            if changed:
                self._compile()

    def mask(self, text: str) -> str:
        if self._pattern is None:
            return text
        now = time.monotonic()
        if now - self._purged >= PURGE_EVERY:
            with self._lock:
                if self._purge(now):
                    self._compile()
        pattern = self._pattern
        return text if pattern is None else pattern.sub(MASK, text)

    def held(self) -> int:
        """How many values are masked now."""
        with self._lock:
            return len(self._groups)

    def _purge(self, now: float) -> bool:
        """Forget the values no owner has held for GRACE seconds; whether any went (under the lock)."""
        self._purged = now
        gone = []
        for found, (owners, seen) in self._groups.items():
            if len(owners):
                seen[0] = now
            elif now - seen[0] >= GRACE:
                gone.append(found)
        for found in gone:
            del self._groups[found]
        return bool(gone)

    def _compile(self) -> None:
        every = {form for found in self._groups for form in found}
        # Longest first: a value that contains another is masked whole.
        ordered = sorted(every, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None


masks = HeldSecrets()
