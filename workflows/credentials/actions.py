"""Creating, rotating and deleting credentials: once each, for the page, the API and the admin alike, audited.

A refusal is a CredentialRefused naming the field at fault (never a value).
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from workflows.audit.models import record
from workflows.credentials import crypto
from workflows.credentials.models import Credential
from workflows.credentials.types import TYPES, BadValues, check_values
from workflows.models import Team, TeamChoiceError


class CredentialRefused(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def team_for(user, name: str | None) -> Team:
    """The team a user's new credential goes to: the named one of theirs, else their only team."""
    try:
        return Team.for_new_workflow(user, name)
    except TeamChoiceError as exc:
        raise CredentialRefused("team", str(exc)) from None


def create(team: Team, name: str, kind: str, values: dict, user=None, description: str = "") -> Credential:
    if kind not in TYPES:
        raise CredentialRefused("kind", f"unknown credential type {kind!r}: one of {', '.join(TYPES)}")
    credential = Credential(team=team, name=name, kind=kind, description=description, created_by=user)
    try:
        credential.full_clean(exclude=["ciphertext", "team", "created_by"], validate_unique=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise CredentialRefused(field, "; ".join(messages)) from None
    _encrypt(credential, values)
    try:
        with transaction.atomic():
            credential.save()
            record("credential.create", credential, user=user, details={"kind": kind})
    except IntegrityError:
        raise CredentialRefused("name", f"team {team.name} already has a credential named {name!r}") from None
    return credential


def rotate(credential: Credential, values: dict, user=None) -> Credential:
    """Replace the values given (the others are kept): a new token, a new password."""
    try:
        current = credential.values()
    except crypto.Undecryptable:
        current = {}  # unreadable: only a whole new set of values can replace it
    _encrypt(credential, {**current, **(values if isinstance(values, dict) else {})}, given=values)
    credential.rotated = timezone.now()
    with transaction.atomic():
        credential.save(update_fields=["ciphertext", "rotated"])
        record("credential.rotate", credential, user=user, details={"fields": sorted(values)})
    return credential


def delete(credential: Credential, user=None) -> None:
    """Gone at once: a step that names it fails (`no credential`), a new definition naming it is refused."""
    with transaction.atomic():
        record("credential.delete", credential, user=user, details={"kind": credential.kind})
        credential.delete()


def _encrypt(credential: Credential, values, given=None) -> None:
    if not isinstance(given if given is not None else values, dict):
        raise CredentialRefused("values", "values must be an object of the type's fields")
    try:
        credential.set_values(check_values(credential.kind, values))
    except BadValues as exc:
        raise CredentialRefused("values", str(exc)) from None
    except crypto.KeyMissing as exc:
        raise CredentialRefused("values", str(exc)) from None
