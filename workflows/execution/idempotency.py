"""`Idempotency-Key`: a start retried with the same key returns the first run, never a second.

A client whose request timed out can't know whether its run started; with a
key it retries safely. The key is remembered for KEY_LIFETIME per scope (an
API user, a webhook), with a fingerprint of what was asked: the same key
with a different request is refused (KeyReused), not answered with a run it
did not ask for. The key's row is written in the same transaction as the
run, and the (scope, key) pair is unique: of two requests racing with one
key, the second waits for the first's commit, then returns its run.
"""

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, models, transaction
from django.utils import timezone

KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255


class KeyReused(Exception):
    """The key was used within KEY_LIFETIME for a different request."""


class BadKey(ValueError):
    """The header is not a usable key."""


class IdempotencyKey(models.Model):
    scope = models.CharField(max_length=100, help_text="whose key: user:<id> or webhook:<id>")
    key = models.CharField(max_length=MAX_KEY_LENGTH)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request the key was first used for")
    run = models.ForeignKey("workflows.Run", on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key")]

    def __str__(self):
        return f"{self.scope} {self.key}"


def read_key(header: str | None) -> str | None:
    """The header's key (None when absent); BadKey for an empty, long or non-printable one."""
    if header is None:
        return None
    if not 0 < len(header) <= MAX_KEY_LENGTH or not header.isprintable() or not header.isascii():
        raise BadKey(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")
    return header


def fingerprint(request_data) -> str:
    canonical = json.dumps(request_data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def start_once(scope: str, key: str | None, request_data, start):
    """(run, replayed): `start()`'s run, or the run this key started within KEY_LIFETIME.

    Raises KeyReused when the key was used for a different request.
    """
    if key is None:
        return start(), False
    digest = fingerprint(request_data)
    earlier = _earlier_run(scope, key, digest)
    if earlier is not None:
        return earlier, True
    try:
        with transaction.atomic():
            # An expired use of this key is forgotten in the same transaction.
            IdempotencyKey.objects.filter(scope=scope, key=key, created__lt=timezone.now() - KEY_LIFETIME).delete()
            run = start()
            IdempotencyKey.objects.create(scope=scope, key=key, fingerprint=digest, run=run)
    except IntegrityError:  # a request with this key committed first: its run is the answer
        earlier = _earlier_run(scope, key, digest)
        if earlier is None:
            raise
        return earlier, True
    return run, False


def _earlier_run(scope: str, key: str, digest: str):
    used = (
        IdempotencyKey.objects.filter(scope=scope, key=key, created__gte=timezone.now() - KEY_LIFETIME)
        .select_related("run")
        .first()
    )
    if used is None:
        return None
    if used.fingerprint != digest:
        raise KeyReused(f"Idempotency-Key {key!r} was used for a different request in the last 24 hours")
    return used.run


def forget_expired() -> int:
    """Delete keys past their lifetime (the daily prune calls it)."""
    deleted, _ = IdempotencyKey.objects.filter(created__lt=timezone.now() - KEY_LIFETIME).delete()
    return deleted
