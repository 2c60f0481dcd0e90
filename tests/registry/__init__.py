"""Tests of the component registry, and helpers the built-in components' tests share.

`serve` runs a real HTTP server on 127.0.0.1 in a thread; `builtin` gives a
component's callable the way the engine gets it (one instance per process);
`register_elsewhere` adds a component the way another machine would.
"""

import contextlib
import threading
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.core.cache import cache

from registry import generation
from registry.catalog import CATALOG, get_callable
from registry.models import Component


def builtin(name: str):
    spec = CATALOG[name]
    return get_callable(spec.name, spec.version, spec.entrypoint, spec.is_class)


def register_elsewhere(component: Component) -> None:
    """What another machine's change leaves: the row and a new shared generation.

    bulk_create, not save(): this process is not told (no invalidate()).
    """
    Component.objects.bulk_create([component])
    cache.incr(generation.GENERATION_KEY)


@dataclass
class Seen:
    """A request as the local server received it."""

    method: str
    path: str
    headers: Message
    body: bytes


class Handler(BaseHTTPRequestHandler):
    """Records each request, then lets the test's `respond(handler)` answer it."""

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append(Seen(self.command, self.path, self.headers, body))
        self.server.respond(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = handle_any

    def log_message(self, format, *args):
        pass  # keep test output clean


def reply(handler, status=200, body=b"", content_type="text/plain; charset=utf-8", headers=None):
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


@dataclass
class LocalServer:
    url: str
    seen: list


@contextlib.contextmanager
def serve(respond):
    """Serve on 127.0.0.1 (a free port) until the block ends; `respond(handler)` answers."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.seen = []
    server.respond = respond
    # A short poll interval: shutdown() waits for the loop to notice it.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield LocalServer(url=f"http://127.0.0.1:{server.server_port}", seen=server.seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
