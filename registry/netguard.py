"""The address guard for outgoing HTTP made on behalf of a workflow.

A workflow author chooses the URLs http.request fetches; without a guard a
workflow could read the machine's own services, the private network or a
cloud metadata endpoint (169.254.169.254). The guard sits where the socket
is opened: every connection, redirect hops included, resolves its host here,
is refused if any resolved address is not public, and connects to the
vetted address itself, so a DNS answer that changes between the check and
the connection (DNS rebinding) gains nothing.

settings.OAWEB_HTTP_ALLOW_PRIVATE lifts the private-address part of the
guard (for a deployment whose workflows call internal services). Unspecified
(0.0.0.0, ::) and multicast addresses stay refused: no HTTP server is there,
and 0.0.0.0 reaches the local machine.
"""

import ipaddress
import socket

import httpcore
import httpx
from django.conf import settings

from registry.catalog import ComponentError

ALLOW_SETTING = "OAWEB_HTTP_ALLOW_PRIVATE"
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(ComponentError):
    """The guard refused to connect to an address."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo), if any.

    Checked as well because `::ffff:127.0.0.1` reaches 127.0.0.1, and this
    Python's ipaddress does not look inside for is_private.
    """
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    return None


def refusal_reason(address: str | Address, *, allow_private: bool) -> str | None:
    """Why the guard refuses `address` (an IP, not a host name), or None if it allows it."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return refusal_reason(embedded, allow_private=allow_private)
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if allow_private:
        return None
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a public address"
    return None


def check_address(host: str, address: str | Address, *, allow_private: bool) -> None:
    """Raise AddressRefused unless the guard allows connecting to `address` for `host`."""
    reason = refusal_reason(address, allow_private=allow_private)
    if reason is None:
        return
    shown = str(address) if str(address) == host else f"{host} ({address})"
    hint = "" if allow_private else f"; set {ALLOW_SETTING}=true to allow private addresses"
    raise AddressRefused(f"refused to connect to {shown}: it is {reason}{hint}")


def resolve(host: str, port: int, *, allow_private: bool) -> list[str]:
    """Every address `host` resolves to, once each, after the guard allowed all of them.

    One refused address refuses the host: a name that answers with both a
    public and a private address could otherwise be steered to the private one.
    """
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ComponentError(f"cannot resolve host {host!r}: {exc}") from None
    addresses = list(dict.fromkeys(answer[4][0] for answer in answers))
    if not addresses:
        raise ComponentError(f"cannot resolve host {host!r}: no addresses")
    for address in addresses:
        check_address(host, address, allow_private=allow_private)
    return addresses


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to addresses the guard allows."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        # Read at connection time so a settings change (or a test's override) applies.
        allow_private = getattr(settings, ALLOW_SETTING)
        addresses = resolve(host, port, allow_private=allow_private)
        # Each vetted address in turn, as socket.create_connection would try them.
        for address in addresses[:-1]:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue
        return super().connect_tcp(addresses[-1], port, timeout, local_address, socket_options)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over GuardedBackend. TLS still checks the host name
    (httpcore passes it to start_tls), only the TCP connection uses the IP."""

    def __init__(self, limits: httpx.Limits | None = None):
        limits = limits or httpx.Limits()
        # Never a proxy from the environment: the guard must see the real destination.
        super().__init__(trust_env=False, limits=limits)
        # httpx 0.28 has no public way to hand its transport a network backend
        # (encode/httpx#3749 proposes one), so the pool it built is replaced by
        # an equivalent one over ours; handle_request only uses self._pool.
        self._pool.close()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(),
        )
