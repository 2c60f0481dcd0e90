"""`Authorization: Bearer <token>`: per-user API tokens (workflows/tokens.py)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from workflows.tokens import ApiToken


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # not ours: session auth may still apply
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("the Authorization header takes `Bearer <token>`")
        try:
            secret = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("the token is not valid") from None
        token = ApiToken.find(secret)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("the token is not valid or was revoked")
        token.touch()
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword  # makes unauthenticated requests 401, with WWW-Authenticate


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "workflows.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "a personal API token (oat_…)"}
