"""What the alerts hang on a worker's heartbeat: one look at the rules, then the sender woken.

Registered when the app is ready (workflows/apps.py), like the metrics' hooks.
The look takes a lock, so one process at a time writes deliveries; any
process's sender may send them (each delivery is claimed).
"""

import time

from django.conf import settings

from workflows.alerts import delivery, evaluation
from workflows.execution import heartbeat
from workflows.execution.state import get_store

_last = {"at": float("-inf")}


def register() -> None:
    heartbeat.on_every_beat("alerts", check)


def check() -> None:
    """The heartbeat's hook: evaluate the rules (at most once per heartbeat interval), then send what is due."""
    if time.monotonic() - _last["at"] >= settings.OAWEB_HEARTBEAT_SECONDS:
        _last["at"] = time.monotonic()
        with get_store().lock("alerts", ttl=max(1, settings.OAWEB_HEARTBEAT_SECONDS)) as acquired:
            if acquired:
                evaluation.evaluate()
    delivery.sender.wake()
