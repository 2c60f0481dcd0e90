"""Alerts on real workers: a failed run reaches a local receiver once, signed; a hanging channel slows no run.

The heartbeat's hook (the embedded worker's, or each runworker process's)
finds the finished run and its sender posts it: nothing here calls the
alerts code directly.
"""

import hashlib
import hmac
import json
import threading
import time

import pytest

from tests.alerts.helpers import rule, webhook
from tests.conftest import wait_until
from tests.registry import reply, serve
from workflows.alerts import delivery
from workflows.alerts.models import AlertDelivery
from workflows.execution.runs import start_run, wait_for_run
from workflows.models import Workflow

pytestmark = pytest.mark.slow

FAILING = {"id": "breaks", "steps": [{"id": "boom", "component": "test.raise", "inputs": {"message": "no"}}]}
CHAIN = {
    "id": "chain",
    "steps": [
        {"id": f"s{n}", "component": "core.noop", "inputs": {}, **({"depends_on": [f"s{n - 1}"]} if n else {})}
        for n in range(20)
    ],
}


@pytest.fixture
def alerting(workers, team, settings):
    """Workers whose heartbeat evaluates the rules; this process's sender stopped afterwards (embedded mode)."""
    settings.OAWEB_HTTP_ALLOW_PRIVATE = True  # the receiver is on 127.0.0.1 (runworker processes have it already)
    yield workers
    delivery.sender.stop()


def run_in(team, definition):
    """Run a definition of the team's to its end: (the run, how long it took)."""
    version, _ = Workflow.import_definition(definition, team=team)
    started = time.monotonic()
    run = wait_for_run(start_run(version, {}), timeout=60)
    return run, time.monotonic() - started


def test_a_failed_run_is_alerted_once_signed(alerting, team):
    with serve(lambda handler: reply(handler, body=b"ok")) as receiver:
        channel, secret = webhook(team, url=receiver.url)
        rule(team, channel)
        run, _ = run_in(team, FAILING)
        assert run.status == "failed"
        assert wait_until(lambda: len(receiver.seen) >= 1, timeout=20)
        time.sleep(3)  # a few more beats: nothing is sent twice

    [seen] = receiver.seen
    timestamp = seen.headers["X-Oaweb-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + seen.body, hashlib.sha256).hexdigest()
    assert seen.headers["X-Oaweb-Signature"] == f"sha256={expected}"
    assert json.loads(seen.body)["run"]["id"] == run.pk
    assert wait_until(lambda: AlertDelivery.objects.get().status == "sent", timeout=5)
    assert AlertDelivery.objects.get().attempts == 1


def test_a_hanging_channel_does_not_slow_a_run(alerting, team, settings):
    settings.OAWEB_ALERT_TIMEOUT = 30  # this process's sender (embedded mode) hangs as long as the receiver
    release = threading.Event()

    def hang(handler):
        release.wait(30)
        reply(handler, body=b"late")

    with serve(hang) as receiver:
        channel, _ = webhook(team, url=receiver.url)
        rule(team, channel)
        _, before = run_in(team, CHAIN)
        run_in(team, FAILING)
        assert wait_until(lambda: len(receiver.seen) == 1, timeout=20)  # the alert is being sent, and hangs
        run, during = run_in(team, {**CHAIN, "id": "chain-again"})
        sending = AlertDelivery.objects.get()
        release.set()

    print(f"20-step chain: {before:.2f} s before the alert, {during:.2f} s while its channel hung")
    assert run.status == "succeeded"
    # The run finished while the delivery was still on its way: nothing waited for it.
    assert (sending.status, sending.attempts, sending.response_status, sending.last_error) == ("pending", 1, None, "")
