"""The chaos tests' own tools (tests/faults.py): the counts see what they must, the proxy cuts and restores.

No workers or Redis needed: these show that the chaos tests can fail.
"""

import socket
import threading

import pytest
from django.utils import timezone

from tests.faults import StepCounts, TcpProxy, assert_each_success_recorded_once, step_counts
from workflows.execution.models import Run, StepAttempt, StepRun
from workflows.execution.status import AttemptStatus, RunStatus, StepStatus
from workflows.models import Team, Workflow

pytestmark = [pytest.mark.chaos]


def a_run_with_attempts(**attempts_by_step) -> Run:
    """A finished run whose steps have these attempts' statuses, in order."""
    definition = {"id": "counted", "steps": [{"id": step_id, "component": "core.noop"} for step_id in attempts_by_step]}
    version, _ = Workflow.import_definition(definition, team=Team.default())
    run = Run.objects.create(workflow=version.workflow, version=version, status=RunStatus.SUCCEEDED)
    now = timezone.now()
    for step_id, statuses in attempts_by_step.items():
        step = StepRun.objects.create(
            run=run, step_id=step_id, component="core.noop", status=StepStatus.SUCCEEDED, attempt=len(statuses)
        )
        for number, status in enumerate(statuses, start=1):
            StepAttempt.objects.create(step_run=step, number=number, status=status, started=now, finished=now)
    return run


def test_counts_of_steps_that_ran_as_they_should(db):
    run = a_run_with_attempts(a=["succeeded"], b=["lost", "succeeded"])

    counts = step_counts([run.pk])

    assert counts == StepCounts(
        runs=1,
        runs_succeeded=1,
        runs_unfinished=0,
        steps=2,
        steps_succeeded=2,
        recorded_once=2,
        recorded_twice=0,
        ran_again=0,
        extra_attempts=1,
        lost_attempts=1,
    )
    assert_each_success_recorded_once(counts)


def test_counts_catch_a_success_recorded_twice(db):
    run = a_run_with_attempts(a=["succeeded"], b=["succeeded", "succeeded"])

    counts = step_counts([run.pk])

    assert (counts.recorded_twice, counts.recorded_once) == (1, 1)
    with pytest.raises(AssertionError, match="recorded more than once"):
        assert_each_success_recorded_once(counts)


def test_counts_catch_a_step_that_ran_again_after_its_success(db):
    run = a_run_with_attempts(a=[AttemptStatus.SUCCEEDED, AttemptStatus.LOST])

    counts = step_counts([run.pk])

    assert counts.ran_again == 1
    with pytest.raises(AssertionError, match="ran again after its success"):
        assert_each_success_recorded_once(counts)


def test_counts_catch_a_run_that_did_not_succeed(db):
    run = a_run_with_attempts(a=["succeeded"])
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)

    counts = step_counts([run.pk])

    assert counts.runs_unfinished == 1
    with pytest.raises(AssertionError, match="runs that did not succeed"):
        assert_each_success_recorded_once(counts)


class EchoServer:
    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.echo, args=(client,), daemon=True).start()

    @staticmethod
    def echo(client):
        with client:
            while data := client.recv(1024):
                client.sendall(data)


def echoed(sock: socket.socket, payload: bytes) -> bytes:
    sock.sendall(payload)
    return sock.recv(1024)


def test_proxy_cuts_every_connection_refuses_new_ones_and_comes_back_on_its_port():
    server = EchoServer()
    try:
        with TcpProxy(("127.0.0.1", server.port)) as proxy:
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as held:
                assert echoed(held, b"ping") == b"ping"

                proxy.cut()

                with pytest.raises(ConnectionError):  # reset by the proxy
                    echoed(held, b"still there?")
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", proxy.port), timeout=2).close()
            assert proxy.reset == 1

            port = proxy.port
            proxy.restore()

            assert proxy.port == port
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as again:
                assert echoed(again, b"back") == b"back"
    finally:
        server.listener.close()
