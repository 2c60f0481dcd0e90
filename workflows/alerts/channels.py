"""Sending one delivery through its channel: a signed JSON webhook, a Slack-compatible webhook, or e-mail.

Outgoing HTTP goes through the same address guard as http.request
(registry/netguard.py): loopback and private addresses are refused unless
OAWEB_HTTP_ALLOW_PRIVATE is on. Every send is bounded by OAWEB_ALERT_TIMEOUT
and follows no redirect.

The webhook's signature (docs/alerts.md): `X-Oaweb-Signature: sha256=HEX`,
HEX being HMAC-SHA256 with the channel's secret of `TIMESTAMP.BODY`, where
TIMESTAMP is the `X-Oaweb-Timestamp` header (Unix seconds) and BODY the
request body's bytes, exactly as sent.
"""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.core.mail import send_mail

from registry.netguard import GuardedTransport
from workflows.alerts.models import ChannelKind

USER_AGENT = "oaweb-alerts"
SIGNATURE_HEADER = "X-Oaweb-Signature"
TIMESTAMP_HEADER = "X-Oaweb-Timestamp"
RESPONSE_CHARS = 500


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None = None
    body: str = ""
    error: str = ""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (docs/alerts.md has it in a few lines): compare in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


_client = None


def client() -> httpx.Client:
    global _client
    if _client is None:
        _client = httpx.Client(transport=GuardedTransport(), trust_env=False, follow_redirects=False)
    return _client


def send(delivery) -> Outcome:
    """Send a delivery once; never raises (the outcome says what went wrong)."""
    channel = delivery.channel
    body = {**delivery.payload, "delivery": {"id": delivery.pk, "attempt": delivery.attempts}}
    try:
        if channel.kind == ChannelKind.EMAIL:
            return send_email(channel, body)
        if channel.kind == ChannelKind.SLACK:
            return post(channel.url, json.dumps({"text": slack_text(body)}).encode(), {})
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {
            "X-Oaweb-Event": body.get("event", ""),
            "X-Oaweb-Delivery": str(delivery.pk),
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(channel.signing_secret(), timestamp, raw),
        }
        return post(channel.url, raw, headers)
    except Exception as exc:  # whatever a channel does, the sender records it and carries on
        return Outcome(False, error=f"{type(exc).__name__}: {exc}")


def post(url: str, body: bytes, headers: dict) -> Outcome:
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
    try:
        response = client().post(url, content=body, headers=headers, timeout=settings.OAWEB_ALERT_TIMEOUT)
    except httpx.TimeoutException:
        return Outcome(False, error=f"timed out after {settings.OAWEB_ALERT_TIMEOUT:g} s")
    except httpx.HTTPError as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}")
    text = response.text[:RESPONSE_CHARS]
    if 200 <= response.status_code < 300:
        return Outcome(True, response.status_code, text)
    return Outcome(False, response.status_code, text, f"HTTP {response.status_code}")


def slack_text(body: dict) -> str:
    run = body.get("run") or {}
    link = f" <{run['url']}|run {run['id']}>" if run.get("url", "").startswith("http") else ""
    return f"[oaweb] {body.get('message', '')}{link}"


def send_email(channel, body: dict) -> Outcome:
    recipients = [address.strip() for address in channel.recipients.split(",") if address.strip()]
    run = body.get("run") or {}
    text = body.get("message", "") + (f"\n\n{run['url']}" if run.get("url") else "")
    send_mail(f"[oaweb] {body.get('event', 'alert')}: {body.get('message', '')[:150]}", text, None, recipients)
    return Outcome(True, body=f"sent to {len(recipients)} recipient(s)")
