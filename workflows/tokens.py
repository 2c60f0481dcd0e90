"""Per-user API tokens: shown once when issued, stored as a sha256 digest.

A token authenticates as its user (workflows/api/auth.py), so it sees and
changes exactly what the user would in the browser. Revoking is immediate.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from workflows.audit.models import record

TOKEN_PREFIX = "oat_"
# Enough of the token to tell tokens apart in a list; far too little to guess the rest.
DISPLAY_CHARS = 12
LAST_USED_RESOLUTION_SECONDS = 60


def digest(secret: str) -> str:
    """What is stored of a secret token (API tokens, webhook tokens): its sha256."""
    # surrogatepass: a token from a URL path may hold any code point.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def new_secret(prefix: str) -> str:
    """A new secret token; the prefix tells what kind it is at a glance (and to secret scanners)."""
    return prefix + secrets.token_urlsafe(32)


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked__isnull=True)


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=DISPLAY_CHARS, help_text="the token's first characters, to recognise it")
    # Lookups by digest on every API request: unique, hence indexed.
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, user, name: str = "") -> tuple["ApiToken", str]:
        """A new token for `user`; returns (token, secret). The secret is never stored."""
        secret = new_secret(TOKEN_PREFIX)
        token = cls.objects.create(user=user, name=name, prefix=secret[:DISPLAY_CHARS], digest=digest(secret))
        record("token.create", token, details={"owner": user.get_username()})  # issue 20: the audit log
        return token, secret

    @classmethod
    def find(cls, secret: str) -> "ApiToken | None":
        """The active token with this secret, if any."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        return cls.objects.active().select_related("user").filter(digest=digest(secret)).first()

    @property
    def is_active(self) -> bool:
        return self.revoked is None

    def revoke(self) -> None:
        if self.revoked is None:
            self.revoked = timezone.now()
            self.save(update_fields=["revoked"])
            record("token.revoke", self, details={"owner": self.user.get_username()})  # issue 20: the audit log

    def touch(self) -> None:
        """Record use, at most once a minute: a write per request would cost more than the request."""
        now = timezone.now()
        if self.last_used is None or (now - self.last_used).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            ApiToken.objects.filter(pk=self.pk).update(last_used=now)
            self.last_used = now
