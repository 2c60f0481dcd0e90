"""http.request: real HTTP from a workflow, behind the address guard (registry/netguard.py).

Issue 20: `credential` takes a credential (`{{ secrets.NAME }}`: bearer, basic
or header); what it adds to the request is sent to the URL's origin only,
never to a redirect elsewhere.
"""

import base64
import json as jsonlib
import time

import httpx
from django.conf import settings

from registry.catalog import ComponentError, component
from registry.netguard import AddressRefused, GuardedTransport

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
SCHEMES = ("http", "https")
MAX_REDIRECTS = 5
MAX_TIMEOUT = 300.0
EXCERPT_CHARS = 200
USER_AGENT = "oaweb http.request"

SCALAR = {"type": ["string", "number", "boolean"]}

INPUTS = {
    "type": "object",
    "properties": {
        "url": {"type": "string", "minLength": 1, "description": "An http or https URL."},
        "method": {"type": "string", "enum": list(METHODS), "default": "GET"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}, "default": {}},
        "params": {
            "type": "object",
            "additionalProperties": {"anyOf": [SCALAR, {"type": "array", "items": SCALAR}]},
            "default": {},
            "description": "Query string parameters, added to those in the URL.",
        },
        "json": {"description": "A JSON request body (not with `body`)."},
        "body": {"type": "string", "description": "A text request body (not with `json`)."},
        "timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": MAX_TIMEOUT,
            "description": "Seconds for the whole request; OAWEB_HTTP_TIMEOUT when unset.",
        },
        "fail_on_error": {
            "type": "boolean",
            "default": True,
            "description": "Fail the step on a status of 400 or more.",
        },
        # Issue 20: the engine checks the credential's type (workflows/definitions/secret_checks.py).
        "credential": {
            "type": "object",
            "x-oaweb-credential": ["bearer", "basic", "header"],
            "description": "A credential, `{{ secrets.NAME }}`: a bearer token, basic auth or an API key header.",
        },
    },
    "required": ["url"],
    "additionalProperties": False,
}

OUTPUTS = {
    "type": "object",
    "properties": {
        "status": {"type": "integer"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "text": {"type": "string"},
        "json": {"description": "The body parsed when the response is JSON, else null."},
        "url": {"type": "string", "description": "The final URL, after redirects."},
    },
    "required": ["status", "headers", "text", "json", "url"],
}


@component("http.request", kind="tool", inputs=INPUTS, outputs=OUTPUTS, tags=("http", "network"))
class HttpRequest:
    """Send an HTTP request and return the response.

    Refuses loopback, private and link-local addresses (every redirect hop
    included) unless OAWEB_HTTP_ALLOW_PRIVATE is on; the response may be at
    most OAWEB_HTTP_MAX_BYTES long.
    """

    def __init__(self):
        # One client per worker process (the catalog builds one instance):
        # its pool keeps connections alive from one step to the next.
        self.client = httpx.Client(
            transport=GuardedTransport(),
            follow_redirects=False,  # followed below, so each hop is checked
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )

    def __call__(
        self,
        url: str,
        method: str = "GET",
        headers: dict | None = None,
        params: dict | None = None,
        json=None,
        body: str | None = None,
        timeout: float | None = None,
        fail_on_error: bool = True,
        credential: dict | None = None,
    ) -> dict:
        seconds = request_timeout(timeout)
        added = credential_headers(credential)
        request = self.build(url, method, {**(headers or {}), **added}, params, json, body)
        origin = request.url.copy_with(path="/", query=None, fragment=None)
        deadline = time.monotonic() + seconds
        for _hop in range(MAX_REDIRECTS + 1):
            check_scheme(request.url)
            response, content = self.send(request, deadline, seconds)
            if response.next_request is None:
                return result(response, content, fail_on_error)
            request = response.next_request
            if request.url.copy_with(path="/", query=None, fragment=None) != origin:
                for name in added:  # a credential is for the origin it was written for
                    request.headers.pop(name, None)
        raise ComponentError(f"http.request: {url}: more than {MAX_REDIRECTS} redirects")

    def build(self, url, method, headers, params, json, body) -> httpx.Request:
        if json is not None and body is not None:
            raise ComponentError("http.request: give `json` or `body`, not both")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise ComponentError(f"http.request: method must be one of {', '.join(METHODS)}, got {method!r}")
        try:
            target = httpx.URL(url)
            if params:
                # Added to the URL's own query: httpx's `params=` would replace it.
                target = target.copy_merge_params(params)
            return self.client.build_request(method.upper(), target, headers=headers, json=json, content=body)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise ComponentError(f"http.request: invalid request to {url!r}: {exc}") from None

    def send(self, request: httpx.Request, deadline: float, seconds: float) -> tuple[httpx.Response, bytes]:
        """One hop: the response and its body (empty for a redirect, which is not read)."""
        where = f"{request.method} {request.url}"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ComponentError(f"http.request: {where} timed out after {seconds} s")
        request.extensions["timeout"] = httpx.Timeout(remaining).as_dict()
        try:
            response = self.client.send(request, stream=True)
            try:
                content = b"" if response.next_request is not None else read_limited(response, deadline)
            finally:
                response.close()
        except AddressRefused as exc:
            raise AddressRefused(f"http.request: {where}: {exc}") from None
        except (httpx.TimeoutException, ReadDeadline):
            raise ComponentError(f"http.request: {where} timed out after {seconds} s") from None
        except httpx.HTTPError as exc:
            raise ComponentError(f"http.request: {where} failed: {exc}") from None
        return response, content


def credential_headers(credential) -> dict[str, str]:
    """The headers a credential adds: Authorization for bearer and basic, its own header for an API key."""
    if credential is None:
        return {}
    if not isinstance(credential, dict):
        raise ComponentError("http.request: `credential` must be a credential: write {{ secrets.NAME }}")
    if isinstance(credential.get("token"), str):
        return {"Authorization": f"Bearer {credential['token']}"}
    if isinstance(credential.get("username"), str) and isinstance(credential.get("password"), str):
        pair = f"{credential['username']}:{credential['password']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    if isinstance(credential.get("header"), str) and isinstance(credential.get("value"), str):
        return {credential["header"]: credential["value"]}
    raise ComponentError("http.request: `credential` must be a bearer, basic or header credential")


class ReadDeadline(Exception):
    """The whole request took longer than its timeout."""


def request_timeout(timeout) -> float:
    if timeout is None:
        return float(settings.OAWEB_HTTP_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ComponentError(f"http.request: timeout must be a positive number of seconds, got {timeout!r}")
    return min(float(timeout), MAX_TIMEOUT)


def check_scheme(url: httpx.URL) -> None:
    if url.scheme not in SCHEMES or not url.host:
        raise ComponentError(f"http.request: only http and https URLs with a host are allowed, got {str(url)!r}")


def read_limited(response: httpx.Response, deadline: float) -> bytes:
    """The body, read while counting: a response over the limit stops being read.

    Counts decoded bytes, so a small compressed body that inflates past the
    limit is stopped too. httpx's timeouts bound each read; the deadline
    bounds a server that trickles bytes just fast enough to keep them alive.
    """
    limit = settings.OAWEB_HTTP_MAX_BYTES
    too_large = f"http.request: response from {response.url} is larger than {limit} bytes (OAWEB_HTTP_MAX_BYTES)"
    declared = response.headers.get("content-length", "")
    if response.request.method != "HEAD" and declared.isdigit() and int(declared) > limit:
        raise ComponentError(too_large)
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise ComponentError(too_large)
        if time.monotonic() > deadline:
            raise ReadDeadline
        chunks.append(chunk)
    return b"".join(chunks)


def is_json(response: httpx.Response) -> bool:
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def result(response: httpx.Response, content: bytes, fail_on_error: bool) -> dict:
    text = content.decode(response.encoding or "utf-8", errors="replace")
    if fail_on_error and response.status_code >= 400:
        excerpt = " ".join(text.split())[:EXCERPT_CHARS]
        raise ComponentError(
            f"http.request: {response.request.method} {response.url} returned HTTP {response.status_code}"
            + (f": {excerpt}" if excerpt else "")
        )
    parsed = None
    if is_json(response) and content:
        try:
            parsed = jsonlib.loads(text)
        except ValueError:
            parsed = None  # labelled JSON but is not: the text is still there
    return {
        "status": response.status_code,
        "headers": dict(response.headers),
        "text": text,
        "json": parsed,
        "url": str(response.url),
    }
