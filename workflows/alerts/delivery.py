"""Sending deliveries that are due, from one thread per process, and recording how each went.

The heartbeat's hook wakes the sender (hooks.py); it is never on a step's
path nor on the heartbeat's own thread, so a channel that hangs for its
whole timeout delays nothing but other alerts. A due delivery is claimed
with a conditional UPDATE (its attempt count moves on and it is leased for
LEASE seconds): two processes never send the same attempt, and one that
dies mid-send leaves it due again after the lease. A failure is tried again
after OAWEB_ALERT_RETRY_SECONDS, doubled at each attempt (at most an hour),
until OAWEB_ALERT_MAX_ATTEMPTS: then it is `failed`, with its last error.

    notify(channel, event, message, key, details) -> AlertDelivery   (for other rooms: an approval's link)
"""

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from workflows.alerts import channels
from workflows.alerts.models import AlertDelivery, DeliveryStatus

log = logging.getLogger(__name__)

BATCH = 20
MAX_BACKOFF = 3600.0


def backoff(attempts: int) -> float:
    """Seconds before the next try, after `attempts` failed ones."""
    return min(MAX_BACKOFF, settings.OAWEB_ALERT_RETRY_SECONDS * 2 ** max(0, attempts - 1))


def lease() -> timedelta:
    """How long a claimed attempt is held before it counts as abandoned."""
    return timedelta(seconds=2 * settings.OAWEB_ALERT_TIMEOUT + 30)


def claim(pk: int, attempts: int, now) -> bool:
    """Take one due delivery for this attempt: exactly one row changes, or someone else has it."""
    rows = AlertDelivery.objects.filter(
        pk=pk, status=DeliveryStatus.PENDING, attempts=attempts, next_attempt_at__lte=now
    )
    return rows.update(attempts=attempts + 1, next_attempt_at=now + lease()) == 1


def send_due(limit: int = BATCH) -> int:
    """Send the deliveries due now (up to `limit`); how many were attempted."""
    now = timezone.now()
    due = list(
        AlertDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", "attempts")[:limit]
    )
    sent = 0
    for pk, attempts in due:
        if claim(pk, attempts, now):
            deliver(AlertDelivery.objects.select_related("channel").get(pk=pk))
            sent += 1
    return sent


def deliver(delivery: AlertDelivery) -> AlertDelivery:
    """Send one claimed attempt and record its outcome."""
    outcome = channels.send(delivery)
    now = timezone.now()
    fields = {"response_status": outcome.status, "response_body": outcome.body, "last_error": outcome.error}
    if outcome.ok:
        fields.update(status=DeliveryStatus.SENT, sent_at=now)
    elif delivery.attempts >= settings.OAWEB_ALERT_MAX_ATTEMPTS:
        fields.update(status=DeliveryStatus.FAILED)
    else:
        fields.update(next_attempt_at=now + timedelta(seconds=backoff(delivery.attempts)))
    AlertDelivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts).update(**fields)
    if not outcome.ok:
        log.warning(
            "alert %s to channel %s: attempt %s failed: %s",
            delivery.pk,
            delivery.channel_id,
            delivery.attempts,
            outcome.error,
        )
    for name, value in fields.items():
        setattr(delivery, name, value)
    return delivery


def notify(channel, event: str, message: str, key: str, details: dict | None = None) -> AlertDelivery:
    """An alert outside the rules (an approval step's signed link, issue 19): once per key, sent soon."""
    payload = {
        "version": 1,
        "event": event,
        "message": message,
        "at": timezone.now().isoformat(),
        "team": channel.team.name,
        "rule": None,
        "workflow": None,
        "run": None,
        **(details or {}),
    }
    with transaction.atomic():
        delivery, _ = AlertDelivery.objects.get_or_create(
            key=key, defaults={"team_id": channel.team_id, "channel": channel, "event": event, "payload": payload}
        )
    transaction.on_commit(sender.wake)
    return delivery


class Sender:
    """The one thread per process that sends due deliveries, each time it is woken (every heartbeat)."""

    def __init__(self):
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wake(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop = False
                self._thread = threading.Thread(target=self._run, name="oaweb-alerts", daemon=True)
                self._thread.start()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Let the thread finish what it sends and end (tests, before their database goes)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop = True
        self._wake.set()
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stop:
                return
            try:
                while send_due() == BATCH and not self._stop:
                    pass
            except Exception:  # a database hiccup: try again at the next wake
                log.warning("sending alerts failed; will retry", exc_info=True)
            finally:
                connections.close_all()  # this thread's: nothing held between two beats


sender = Sender()
