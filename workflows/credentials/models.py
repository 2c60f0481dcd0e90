"""Credential: a team's named secret of one type, its values encrypted together in one Fernet token."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from workflows.credentials import crypto
from workflows.credentials.types import KIND_CHOICES, TYPES, CredentialType
from workflows.visibility import visible_to

# A name is one part of a reference (`{{ secrets.NAME }}`: references.py's _PART).
NAME_PATTERN = r"^[A-Za-z0-9_-]+$"


class CredentialQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Those of the user's teams (staff: all). Another team's credential is invisible, and unusable."""
        return visible_to(self, user)


class Credential(models.Model):
    team = models.ForeignKey("workflows.Team", on_delete=models.CASCADE, related_name="credentials")
    name = models.CharField(
        max_length=100,
        validators=[RegexValidator(NAME_PATTERN, "letters, digits, `_` and `-` only")],
        help_text="what steps write in `{{ secrets.NAME }}`",
    )
    kind = models.CharField(max_length=20, choices=KIND_CHOICES)
    description = models.CharField(max_length=300, blank=True)
    # Every field's value, as one Fernet token (crypto.py): never shown, never logged.
    ciphertext = models.TextField(editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)
    # When its values were last replaced (None: as created).
    rotated = models.DateTimeField(null=True, blank=True)

    objects = CredentialQuerySet.as_manager()

    class Meta:
        ordering = ["team", "name"]
        # Also the index a step's lookup uses: (team, name).
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="unique_credential_name")]

    def __str__(self):
        return f"{self.name} ({self.kind})"

    @property
    def type(self) -> CredentialType:
        return TYPES[self.kind]

    def values(self) -> dict:
        """The decrypted values (for a step's call, never for display)."""
        return crypto.decrypt(self.ciphertext)

    def set_values(self, values: dict) -> None:
        """Encrypt `values` (already checked) into this row; not saved."""
        self.ciphertext = crypto.encrypt(values)

    def field_names(self) -> list[str]:
        """The names of the fields that have a value (never the values); [] when they can't be decrypted."""
        try:
            return sorted(self.values())
        except crypto.Undecryptable:
            return []

    def settings(self) -> dict:
        """The fields that are not secret, for display; {} when they can't be decrypted."""
        try:
            return self.type.settings_of(self.values())
        except crypto.Undecryptable:
            return {}
