"""ASGI entry point: HTTP, and WebSockets under /ws/ for the live pages."""

import os

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oaweb.settings")
# This process serves requests: its database connections come from a pool (settings).
os.environ.setdefault("OAWEB_PROCESS", "web")
django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402  (after Django is set up)

from workflows.redaction import redact_daphne_access_log  # noqa: E402

# daphne prints its access log itself, past the LOGGING filter: no tokens in it either.
redact_daphne_access_log()

if settings.EMBEDDED:
    # Embedded mode: this process is also the worker. Starting it now (not
    # at the first run) lets its reaper resume runs a restart interrupted.
    from workflows.execution.embedded import ensure_embedded_beat, ensure_embedded_worker

    ensure_embedded_worker()
    ensure_embedded_beat()

from workflows.web.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": websocket_application,
    }
)
