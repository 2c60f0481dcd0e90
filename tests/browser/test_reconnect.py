"""A run page whose socket drops reconnects and catches up from the server's state."""

import time

from tests.browser.conftest import step_queue
from workflows.execution.models import Run
from workflows.models import Workflow

# The live path differs by mode (Redis channel layer and real workers, or one process).
BOTH_MODES = True

ABNORMAL = 1012  # "service restart": htmx's ws extension reconnects after it


def chain() -> dict:
    queue = step_queue()
    steps = [{"id": "one", "component": "core.sleep", "inputs": {"seconds": 0.3}, **queue}]
    steps += [
        {"id": name, "component": "core.sleep", "inputs": {"seconds": 0.3}, "depends_on": [before], **queue}
        for before, name in (("one", "two"), ("two", "three"))
    ]
    return {"id": "chain", "name": "Chain", "version": "1.0.0", "inputs": {}, "steps": steps, "outputs": {}}


def test_page_catches_up_after_its_socket_drops(logged_in, team):
    Workflow.import_definition(chain(), team=team)
    page = logged_in
    sockets = []

    def route(socket):
        # The first socket goes deaf: the server's updates never reach the page.
        server = socket.connect_to_server()
        deaf = not sockets
        sockets.append(socket)
        socket.on_message(lambda message: server.send(message))
        server.on_message(lambda message: None if deaf else socket.send(message))

    page.route_web_socket("**/ws/runs/**", route)
    page.goto("/workflows/chain/")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url("**/runs/*/")
    run = Run.objects.latest("id")

    deadline = time.monotonic() + 30
    while Run.objects.get(pk=run.pk).status != "succeeded" and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert Run.objects.get(pk=run.pk).status == "succeeded"
    assert page.locator("#step-three .badge").inner_text() != "succeeded"  # the page heard nothing

    sockets[0].close(code=ABNORMAL, reason="dropped")
    page.locator("#run-head .badge", has_text="succeeded").wait_for(timeout=15_000)
    for step in ("one", "two", "three"):
        page.locator(f"#step-{step} .badge", has_text="succeeded").wait_for()
    assert len(sockets) == 2
