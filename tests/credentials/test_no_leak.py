"""A credential's value reaches its component and nowhere anyone can read: a run that uses one, then a search.

A run on real workers (the in-process one, or runworker processes) sends the
secret to a local server through http.request, echoes it, logs it and fails
with it in its error. Then the plaintext is looked for in every row the run
wrote, every event it sent, the logs, and every page and API answer about it
as a real server (daphne) serves them, its access log included. Each place
is also checked to hold the masked value (`•••`), so the search can't pass by
looking in the wrong place.
"""

import asyncio
import io
import json
import logging
import secrets
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.test import Client

from tests.conftest import wait_until
from tests.registry import reply, serve
from workflows import services
from workflows.credentials import actions
from workflows.execution import events
from workflows.execution.models import Run, StepAttempt, StepRun
from workflows.execution.runs import wait_for_run
from workflows.redaction import RedactingFilter
from workflows.tokens import ApiToken

pytestmark = pytest.mark.slow

SECRET = "leak-probe-" + secrets.token_hex(12)
MASK = "•••"


def definition(url: str, gate: str) -> dict:
    token = "{{ secrets.api.token }}"
    return {
        "id": "leak-probe",
        "steps": [
            {"id": "gate", "component": "test.log", "inputs": {"wait_for": gate}},
            {
                "id": "call",
                "component": "http.request",
                "inputs": {"url": url, "credential": "{{ secrets.api }}", "headers": {"X-Copy": f"copy {token}"}},
                "depends_on": ["gate"],
            },
            {
                "id": "echo",
                "component": "core.noop",
                "inputs": {"value": token, "body": "{{ steps.call.outputs.json }}"},
            },
            {
                "id": "talk",
                "component": "test.log",
                "inputs": {"said": [f"said {token}"], "logged": [f"logged {token}"]},
                "depends_on": ["echo"],
            },
            {
                "id": "boom",
                "component": "test.raise",
                "inputs": {"message": f"could not use {token}"},
                "retry": {"max_attempts": 2, "backoff": "fixed", "delay": 0.1},
                "depends_on": ["talk"],
            },
        ],
    }


def echo_headers(handler):
    body = json.dumps({name.lower(): value for name, value in handler.headers.items()}).encode()
    reply(handler, body=body, content_type="application/json")


@pytest.fixture
def console():
    """What the configured console handler (settings.LOGGING, redacting) prints in this process meanwhile."""
    handlers = [
        handler
        for handler in logging.root.handlers
        if isinstance(handler, logging.StreamHandler) and any(isinstance(f, RedactingFilter) for f in handler.filters)
    ]
    buffer = io.StringIO()
    previous = [handler.setStream(buffer) for handler in handlers]
    yield buffer
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)


def start_and_collect_events(owner, version, gate, monkeypatch) -> tuple[Run, list[dict]]:
    """Start the run and collect every event it sends until it finishes."""
    if settings.EMBEDDED:
        seen = []
        original = events.publisher.publish
        monkeypatch.setattr(
            events.publisher, "publish", lambda event: (seen.append(event.as_message()), original(event))[1]
        )
        open(gate, "w").close()
        run = wait_for_run(services.start(version, {}, user=owner), timeout=60)
        wait_until(lambda: not events.publisher._pending, timeout=5)
        return run, seen
    return async_to_sync(listen_to_the_run)(owner, version, gate)


async def listen_to_the_run(owner, version, gate):
    """Distributed: the run's events as Redis carries them, the gate opened once we listen to its group."""
    from channels.layers import get_channel_layer

    layer, channel, seen = get_channel_layer(), f"leak-listener-{time.monotonic_ns()}", []
    await layer.group_add(events.DASHBOARD_GROUP, channel)
    run = await sync_to_async(services.start)(version, {}, user=owner)
    await layer.group_add(events.run_group(run.pk), channel)
    try:
        open(gate, "w").close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                seen.append((await asyncio.wait_for(layer.receive(channel), 2))["event"])
            except TimeoutError:
                if await sync_to_async(lambda: Run.objects.get(pk=run.pk).is_final)():
                    break
    finally:
        await layer.group_discard(events.DASHBOARD_GROUP, channel)
        await layer.group_discard(events.run_group(run.pk), channel)
    return await sync_to_async(Run.objects.get)(pk=run.pk), seen


def test_a_credential_reaches_its_component_and_nothing_anyone_reads(
    workers, team, owner, tmp_path, monkeypatch, console, settings
):
    settings.OAWEB_HTTP_ALLOW_PRIVATE = True  # the receiver is on 127.0.0.1 (runworker processes have it already)
    actions.create(team, "api", "bearer", {"token": SECRET}, owner)
    with serve(echo_headers) as receiver:
        version = services.save_definition(definition(receiver.url, str(tmp_path / "gate")), owner).version
        run, sent = start_and_collect_events(owner, version, str(tmp_path / "gate"), monkeypatch)

    # The component got the value, in the header it builds and in the one the step interpolates.
    assert run.steps.get(step_id="call").status == "succeeded", run.steps.get(step_id="call").error
    assert [(seen.headers["Authorization"], seen.headers["X-Copy"]) for seen in receiver.seen] == [
        (f"Bearer {SECRET}", f"copy {SECRET}")
    ]
    assert run.status == "failed"
    rows = stored_rows(run)
    assert_nowhere(rows, "the database rows")
    assert_nowhere(sent, "the events")
    assert_nowhere(console.getvalue() + worker_output(workers), "the logs")
    assert_masked_where_it_would_be(run)
    assert any("could not use •••" in str(event) for event in sent), "the failing step's error is in the events"
    assert any("said •••" in str(event) for event in sent), "the step's log lines are in the events"
    assert "logged •••" in console.getvalue() + worker_output(workers), "component logging reaches the console"
    served, access_log = served_pages_and_answers(run, owner)
    assert_nowhere(served, "the pages and API answers")
    assert_nowhere(access_log, "the server's output and access log")
    assert MASK in served["/runs/{run}/steps/echo/"] and MASK in served["/api/v1/runs/{run}/"]


def stored_rows(run: Run) -> list:
    run = Run.objects.get(pk=run.pk)
    steps = list(StepRun.objects.filter(run=run).values("inputs", "outputs", "error"))
    attempts = list(StepAttempt.objects.filter(step_run__run=run).values("error", "log", "worker"))
    return [run.inputs, run.outputs, run.error, steps, attempts]


def assert_nowhere(found, where: str) -> None:
    text = found if isinstance(found, str) else json.dumps(found, default=str, ensure_ascii=False)
    assert SECRET not in text, f"the secret is in {where}"
    assert text.strip(), f"nothing was looked at in {where}"


def assert_masked_where_it_would_be(run: Run) -> None:
    steps = {step.step_id: step for step in StepRun.objects.filter(run=run)}
    assert steps["call"].inputs["credential"] == {"token": MASK}
    assert steps["call"].inputs["headers"] == {"X-Copy": f"copy {MASK}"}
    assert steps["call"].outputs["json"]["authorization"] == f"Bearer {MASK}"  # what the server echoed back
    assert steps["echo"].outputs["value"] == MASK
    assert steps["boom"].error == f"ComponentError: could not use {MASK}"
    attempts = StepAttempt.objects.filter(step_run=steps["boom"])
    assert [attempt.error for attempt in attempts] == [steps["boom"].error] * 2
    talk_log = StepAttempt.objects.get(step_run=steps["talk"]).log
    assert f"said {MASK}" in talk_log and f"logged {MASK}" in talk_log


def worker_output(workers) -> str:
    if workers is None:  # embedded: the console fixture has this process's output
        return ""
    return "\n".join(line for worker in workers.workers.values() for line in worker.output)


PAGES = [
    "/runs/{run}/",
    "/runs/{run}/steps/call/",
    "/runs/{run}/steps/echo/",
    "/runs/{run}/steps/talk/",
    "/runs/{run}/steps/boom/",
    "/runs/{run}/again/",
    "/credentials/",
]
ANSWERS = ["/api/v1/runs/{run}/", "/api/v1/credentials/", "/api/v1/audit/"]
ANSWERS += [f"/api/v1/runs/{{run}}/steps/{step}/logs" for step in ("call", "echo", "talk", "boom")]


def served_pages_and_answers(run: Run, owner) -> tuple[dict, str]:
    """Every page and API answer about the run, from a real server; and what that server printed."""
    import urllib.request

    from tests.server import LiveServer

    if settings.EMBEDDED:
        from workflows.execution.embedded import stop_embedded_worker

        stop_embedded_worker()  # one embedded process per database: the server takes over
    client = Client()
    client.force_login(owner)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    _, token = ApiToken.issue(owner, "leak-probe")
    step_pks = StepRun.objects.filter(run=run).values_list("pk", flat=True)
    paths = {path: path.format(run=run.pk) for path in PAGES + ANSWERS}
    paths.update({f"/api/v1/steps/{pk}/": f"/api/v1/steps/{pk}/" for pk in step_pks})
    server = LiveServer()
    try:
        served = {}
        for name, path in paths.items():
            headers = {"Authorization": f"Bearer {token}"} if path.startswith("/api/") else {"Cookie": cookie}
            with urllib.request.urlopen(urllib.request.Request(server.url + path, headers=headers), timeout=20) as got:
                served[name] = got.read().decode()
    finally:
        server.stop()
    return served, "\n".join(server.output)
