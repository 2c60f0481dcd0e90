"""WebSocket routes under /ws/ (docs/events.md describes what they carry)."""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from workflows.web.consumers import DashboardConsumer, RunConsumer

websocket_urlpatterns = [
    path("ws/runs/<int:run_id>/", RunConsumer.as_asgi()),
    path("ws/dashboard/", DashboardConsumer.as_asgi()),
]

# The session authenticates a socket; the origin check keeps other sites' pages out.
websocket_application = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
