"""Who is acting: the request being served, for an audit row whose caller doesn't name the actor.

Some actions are done where no user is at hand (a token revoked, a schedule
changed by a serializer's save): `record` then asks here. The middleware
keeps the request in a context variable for its view; Django REST
framework sets the user (and the API token, `request.auth`) on that same
request once it has authenticated it, so an API call is recorded with its
token. Outside a request (the CLI, beat, a worker) there is none.
"""

import contextvars

_request = contextvars.ContextVar("oaweb_audit_request", default=None)


def current_request():
    return _request.get()


class AuditContextMiddleware:
    """Keeps the request at hand for `audit.record` while the view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


def actor_from_request() -> tuple[object | None, object | None, str]:
    """(user or None, API token or None, "api" | "web" | "admin" | "") of the request being served."""
    request = current_request()
    if request is None:
        return None, None, ""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        user = None
    token = getattr(request, "auth", None)
    if token is not None and getattr(getattr(token, "_meta", None), "model_name", "") != "apitoken":
        token = None
    path = request.path
    via = "api" if path.startswith("/api/") else "admin" if path.startswith("/admin/") else "web"
    return user, token, via
