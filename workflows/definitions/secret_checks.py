"""The checks of `{{ secrets.NAME }}` references (issue 20): where they may stand, and what they name.

A step's inputs may read a credential of the workflow's team: the whole
credential (`{{ secrets.NAME }}`, an object of its fields) or one field
(`{{ secrets.NAME.FIELD }}`). Anywhere else (a `when`, the workflow's
outputs) a value would end up stored and shown, so it is refused.

Which credentials exist is the caller's to say (`secrets`: name ->
SecretInfo, those of the team that owns the workflow); with None (a
validation with no team, such as the CLI's or the API's /validate) only the
places are checked. A component input whose schema carries
CREDENTIAL_KEYWORD (a list of credential types) takes a whole credential of
one of those types.
"""

from typing import NamedTuple

from workflows.definitions.issues import WARNING
from workflows.definitions.references import (
    SECRETS,
    Place,
    Reference,
    escape_pointer,
    is_whole_reference,
    place_pointer,
)

# In a component's input schema: `"credential": {"type": "object", "x-oaweb-credential": ["bearer", "basic"]}`.
CREDENTIAL_KEYWORD = "x-oaweb-credential"
SECRET_HELP = "create it on the Credentials page of the workflow's team, or fix the name"


class SecretInfo(NamedTuple):
    """What validation knows of a credential: its type and the names of its fields (never their values)."""

    kind: str
    fields: frozenset[str]


def credential_kinds(properties: dict) -> dict[str, tuple[str, ...]]:
    """Input name -> the credential types it takes, for the inputs whose schema says so."""
    kinds = {}
    for key, declared in properties.items():
        allowed = declared.get(CREDENTIAL_KEYWORD) if isinstance(declared, dict) else None
        if isinstance(allowed, list) and all(isinstance(kind, str) for kind in allowed):
            kinds[key] = tuple(allowed)
    return kinds


class SecretChecks:
    """The checker's checks of credential references (state: validation._Checker, `secrets`)."""

    def check_secret(self, reference: Reference, place: Place, in_step_inputs: bool) -> None:
        pointer = place_pointer(place)
        if not in_step_inputs:
            self.add(
                "misplaced_secret",
                f"`{reference.text}`: a credential may only be read in a step's inputs",
                pointer,
                "pass it to the step that needs it; its value is never stored or shown",
            )
            return
        if self.secrets is None:
            return
        info = self.secrets.get(reference.name)
        if info is None:
            self.add(
                "unknown_reference",
                f"`{reference.text}`: the workflow's team has no credential `{reference.name}`",
                pointer,
                self.suggest(reference.name, "credential", list(self.secrets)) or SECRET_HELP,
            )
            return
        if reference.path and (len(reference.path) > 1 or reference.path[0] not in info.fields):
            fields = ", ".join(f"`{name}`" for name in sorted(info.fields))
            self.add(
                "unknown_reference",
                f"`{reference.text}`: credential `{reference.name}` ({info.kind}) has no field "
                f"`{'.'.join(reference.path)}` (fields: {fields})",
                pointer,
                self.suggest(reference.path[0], "field", list(info.fields)),
            )

    def check_credential_input(self, base: str, key: str, value, kinds: tuple[str, ...], component: str) -> None:
        """An input that takes a credential: a whole `{{ secrets.NAME }}` of one of `kinds`."""
        pointer = f"{base}/inputs/{escape_pointer(key)}"
        reference = is_whole_reference(value)
        allowed = " or ".join(kinds)
        if reference is None or reference.source != SECRETS or reference.path:
            self.add(
                "credential_type",
                f"input `{key}` of `{component}` takes a credential ({allowed}): write `{{{{ secrets.NAME }}}}`",
                pointer,
                "a value written in the definition is stored and shown; a credential's never is",
                WARNING,
            )
            return
        info = self.secrets.get(reference.name) if self.secrets is not None else None
        if info is not None and info.kind not in kinds:
            self.add(
                "credential_type",
                f"credential `{reference.name}` is a {info.kind} credential, but input `{key}` of "
                f"`{component}` takes {allowed}",
                pointer,
                f"use a credential of type {allowed}",
            )
