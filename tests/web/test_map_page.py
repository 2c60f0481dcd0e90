"""The run page of a run with a map (issue 19): one node and one row for the map, its items a page at a time.

Runs are written straight into the database (no engine): the map step waits
with its items' rows, as workflows/execution/transitions/mapping.py leaves
them, so these tests show what the page makes of any such state.
"""

import asyncio
import json
import re
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.conftest import make_user
from tests.web.test_live_consumers import close_connections, connect, receive_all  # noqa: F401 (a fixture)
from workflows.definitions.graph import build_plan
from workflows.execution import events
from workflows.execution.events import MESSAGE_TYPE, StepEvent
from workflows.execution.items import item_step_id
from workflows.execution.models import Run, StepAttempt, StepRun
from workflows.models import Workflow
from workflows.web import live, maps, waiting
from workflows.web.consumers import RunConsumer
from workflows.web.graphs import dag_json, plan_graph

CHILD = {
    "id": "child",
    "name": "Child",
    "version": "1.0.0",
    "inputs": {},
    "steps": [{"id": "c1", "component": "core.noop", "inputs": {}}],
    "outputs": {},
}
PARENT = {
    "id": "fan",
    "name": "Fan",
    "version": "1.0.0",
    "inputs": {},
    "steps": [
        {"id": "list", "component": "core.noop", "inputs": {"paths": ["a"]}},
        {
            "id": "each",
            "component": "core.noop",
            "map": "{{ steps.list.outputs.paths }}",
            "concurrency": 4,
            "inputs": {"value": "{{ item }}", "at": "{{ index }}"},
        },
        {"id": "after", "component": "core.noop", "inputs": {"r": "{{ steps.each.outputs.results }}"}},
        {"id": "ok", "component": "core.approval", "inputs": {"message": "Ship it?", "timeout_seconds": 3600}},
        {"id": "paid", "component": "core.wait_for_event", "inputs": {"event": "paid"}},
        {"id": "sub", "workflow": "child", "inputs": {}},
    ],
    "outputs": {},
}
OWN_STEPS = [step["id"] for step in PARENT["steps"]]


def item_statuses(n: int, done=0, running=0, failed=0) -> list[str]:
    """n items: the first `done` succeeded, then `failed` failed, then `running`, the rest pending."""
    pending = n - done - failed - running
    return ["succeeded"] * done + ["failed"] * failed + ["running"] * running + ["pending"] * pending


def make_map_run(team, statuses: list[str], deadline=None) -> Run:
    """A run of PARENT: `list` succeeded, `each` waiting for its items (statuses), `ok` and `paid` waiting."""
    child_version, _ = Workflow.import_definition(CHILD, team=team)
    version, _ = Workflow.import_definition(PARENT, team=team)
    now = timezone.now()
    run = Run.objects.create(workflow=version.workflow, version=version, status="running", started=now)
    child = Run.objects.create(
        workflow=child_version.workflow, version=child_version, status="running", started=now, unfinished=1
    )
    # Running, and no lease to expire: a server's reaper (the browser tests') leaves these rows as they are.
    StepRun.objects.create(run=child, step_id="c1", component="core.noop", status="running", attempt=1, started=now)
    deadline = deadline or now + timedelta(hours=1)
    own = {
        "list": {"status": "succeeded", "attempt": 1, "enqueued": now, "started": now, "finished": now},
        "each": {
            "status": "waiting",
            "attempt": 1,
            "enqueued": now,
            "started": now,
            "wait": {"kind": "map", "items": len(statuses), "concurrency": 4, "allow_failures": False},
            "items_left": sum(status not in ("succeeded", "failed") for status in statuses),
        },
        "after": {},
        "ok": {
            "status": "waiting",
            "attempt": 1,
            "started": now,
            "wait": {"kind": "approval", "message": "Ship it?", "on_timeout": "reject", "on_reject": "fail"},
            "wait_until": deadline,
        },
        "paid": {"status": "waiting", "attempt": 1, "started": now, "wait": {"kind": "event", "event": "paid"}},
        "sub": {
            "status": "waiting",
            "attempt": 1,
            "started": now,
            "wait": {"kind": "run", "workflow": "child", "version": None, "run": child.pk},
        },
    }
    rows = {
        step_id: StepRun.objects.create(
            run=run, step_id=step_id, component=_component(step_id), **{"status": "pending", **fields}
        )
        for step_id, fields in own.items()
    }
    Run.objects.filter(pk=child.pk).update(parent_step=rows["sub"])
    items = []
    for index, status in enumerate(statuses):
        item = StepRun(
            run=run,
            step_id=item_step_id("each", index),
            component="core.noop",
            status=status,
            map_step=rows["each"],
            item_index=index,
            item={"path": f"file-{index}.txt"},
            waiting=1 if status == "pending" else 0,
        )
        if status != "pending":
            item.attempt, item.enqueued, item.started = 1, now, now
        if status in ("succeeded", "failed"):
            item.finished = now + timedelta(seconds=2)
        if status == "failed":
            item.error = f"item {index} broke"
        items.append(item)
    StepRun.objects.bulk_create(items, batch_size=1000)
    unfinished = StepRun.objects.filter(run=run).exclude(status__in=["succeeded", "failed"]).count()
    Run.objects.filter(pk=run.pk).update(unfinished=unfinished)
    return run


def _component(step_id: str) -> str:
    step = next(step for step in PARENT["steps"] if step["id"] == step_id)
    return step.get("component", "core.workflow")


def graph_of(response) -> dict:
    return response.context["graph"]


def nodes_of(response) -> dict:
    return {node["id"]: node for node in graph_of(response)["nodes"]}


@pytest.fixture
def map_run(team, components):
    return make_map_run(team, item_statuses(120, done=30, running=4, failed=2))


# --- one node, one row --------------------------------------------------------------------------


def test_a_map_is_one_node_of_the_graph_with_its_items_counts(owner_client, map_run):
    response = owner_client.get(reverse("run-detail", args=[map_run.pk]))
    assert response.status_code == 200
    nodes = nodes_of(response)
    assert sorted(nodes) == sorted(OWN_STEPS)  # no item is a node
    each = nodes["each"]
    assert each["map"] is True and each["status"] == "waiting"
    assert each["items"] == {"total": 120, "done": 30, "running": 4, "failed": 2}
    assert "items" not in nodes["list"] and "map" not in nodes["list"]


def test_items_stay_out_of_the_step_table_the_progress_and_the_timeline(owner_client, map_run):
    page = owner_client.get(reverse("run-detail", args=[map_run.pk])).content.decode()
    assert re.findall(r'<tr id="step-([^"]+)"', page) == OWN_STEPS
    assert "each[" not in page
    assert f"of {len(OWN_STEPS)} steps finished" in page  # a map is one step of the progress
    row = page[page.index('<tr id="step-each"') :]
    row = row[: row.index("</tr>")]
    assert "30 of 120 done · 4 running · 2 failed" in row


def test_the_map_step_lists_its_items_a_page_at_a_time(owner_client, map_run):
    url = reverse("step-detail", args=[map_run.pk, "each"])
    page = owner_client.get(url).content.decode()
    assert "For its 120 items, 4 at a time" in page
    assert len(re.findall(r'<tr data-item="', page)) == maps.ITEMS_PAGE
    assert "Items 1–50 of 120" in page
    assert f'href="{url}?status=&amp;page=2"' in page and 'rel="prev"' not in page
    # The tabs: all, then failures first, with their counts.
    tabs = re.findall(r'data-filter="([a-z]+)">\w+ <span class="count">(\d+)</span>', page)
    assert tabs == [("all", "120"), ("failed", "2"), ("running", "4"), ("pending", "84"), ("done", "30")]

    last = owner_client.get(url, {"page": 3}).content.decode()
    assert re.findall(r'<tr data-item="(\d+)"', last) == [str(index) for index in range(100, 120)]
    assert "Items 101–120 of 120" in last and 'rel="next"' not in last
    assert owner_client.get(url, {"page": 99}).context["items"].number == 3  # clamped

    failed = owner_client.get(url, {"status": "failed", "part": "items"})
    html = failed.content.decode()
    assert "<html" not in html and html.lstrip().startswith("<section")  # the list alone
    assert re.findall(r'<tr data-item="(\d+)"', html) == ["30", "31"]
    assert "item 30 broke" in html
    item_url = reverse("step-detail", args=[map_run.pk, "each[30]"])
    assert f'href="{item_url}" data-open-step="each[30]"' in html
    assert owner_client.get(reverse("step-detail", args=[map_run.pk, "list"]), {"part": "items"}).status_code == 404


def test_an_items_page_shows_its_attempts_its_value_and_its_map(owner_client, map_run):
    item = StepRun.objects.get(run=map_run, step_id="each[31]")
    StepAttempt.objects.create(
        step_run=item, number=1, status="failed", error="first try broke", started=item.started, finished=item.started
    )
    StepRun.objects.filter(pk=item.pk).update(attempt=2)
    for url in (reverse("step-detail", args=[map_run.pk, "each[31]"]), f"/runs/{map_run.pk}/steps/each[31]/"):
        response = owner_client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert "Step <code>each[31]</code>" in page
        assert re.search(r"Item 31 of map <a href=\"[^\"]+/steps/each/\"", page)
        assert "file-31.txt" in page
        assert page.count('<tbody data-attempt="') == 2 and "first try broke" in page and "item 31 broke" in page
    assert owner_client.get(f"/runs/{map_run.pk}/steps/each[999]/").status_code == 404


# --- waiting steps ---------------------------------------------------------------------------------


def test_a_waiting_steps_row_and_node_say_what_it_waits_for_and_until_when(owner_client, team, components):
    # Later today, whatever the hour the test runs at: a node shows a deadline on another day with its date.
    deadline = timezone.localtime().replace(hour=23, minute=59, second=0, microsecond=0)
    map_run = make_map_run(team, item_statuses(120, done=30, running=4, failed=2), deadline=deadline)
    when = waiting.deadline(deadline)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", when)
    response = owner_client.get(reverse("run-detail", args=[map_run.pk]))
    page = response.content.decode()

    def row(step_id):
        found = page[page.index(f'<tr id="step-{step_id}"') :]
        return found[: found.index("</tr>")]

    assert f"for approval until {when}" in row("ok")
    assert "for event &quot;paid&quot;" in row("paid") and "until" not in row("paid")
    child = Run.objects.get(parent_step__step_id="sub", parent_step__run=map_run)
    assert f'for <a href="/runs/{child.pk}/">child run #{child.pk}</a>' in row("sub")

    nodes = nodes_of(response)
    assert nodes["ok"]["waits"] is True  # drawn with room for what it waits for
    assert nodes["ok"]["detail"] == "approval · 23:59"
    assert nodes["ok"]["note"] == f"waiting for approval until {when}"
    assert nodes["sub"]["detail"] == f"run #{child.pk}" and nodes["sub"]["component"] == "workflow child"
    assert "detail" not in nodes["list"] and "waits" not in nodes["list"]


def test_the_step_panel_says_what_each_kind_of_wait_waits_for(owner_client, map_run):
    def panel(step_id):
        return owner_client.get(reverse("step-detail", args=[map_run.pk, step_id])).content.decode()

    deadline = StepRun.objects.get(run=map_run, step_id="ok").wait_until
    approval = panel("ok")
    assert "Ship it?" in approval and f"For a decision by {deadline:%Y-%m-%d %H:%M:%S} UTC" in approval
    assert "For the event <code>paid</code>, with no deadline" in panel("paid")
    sub = panel("sub")
    child = Run.objects.get(parent_step__step_id="sub", parent_step__run=map_run)
    assert f'For its child run <a href="/runs/{child.pk}/">#{child.pk}</a>' in sub
    assert f'Child run: <a href="/runs/{child.pk}/">#{child.pk}</a>' in sub


def test_wait_words():
    now = timezone.now()
    assert waiting.waits_for(None) == ""
    assert waiting.waits_for({"kind": "time"}, now) == f"the time {waiting.deadline(now)}"
    assert waiting.waits_for({"kind": "event", "event": "paid"}) == 'event "paid"'
    assert waiting.waits_for({"kind": "approval"}, now) == f"approval until {waiting.deadline(now)}"
    assert waiting.waits_for({"kind": "run", "run": 12}) == "child run #12"
    assert waiting.waits_for({"kind": "map", "items": 1}) == "its 1 item"
    assert waiting.waits_for({"kind": "map", "items": 9, "concurrency": 3}) == "its 9 items, 3 at a time"
    assert waiting.short({"kind": "approval"}, now) == f"approval · {timezone.localtime(now):%H:%M}"
    tomorrow = now + timedelta(days=2)
    assert waiting.short({"kind": "time"}, tomorrow) == f"until {timezone.localtime(tomorrow):%m-%d %H:%M}"
    assert waiting.child_run({"kind": "run", "run": 12}) == 12 and waiting.child_run({"kind": "event"}) is None


def test_item_counts_group_the_statuses():
    counts = maps.ItemCounts.of({"succeeded": 3, "queued": 1, "running": 2, "waiting": 1, "failed": 1, "pending": 5})
    assert (counts.total, counts.done, counts.running, counts.failed, counts.pending) == (13, 3, 4, 1, 5)
    assert counts.text == "3 of 13 done · 4 running · 1 failed"
    assert maps.ItemCounts.of({"succeeded": 2, "cancelled": 3}).text == "2 of 5 done · 3 cancelled"


# --- approvals: the run's team only ------------------------------------------------------------------


def test_approval_buttons_are_shown_to_the_runs_team_only(login, owner, map_run, other_team):
    url = reverse("step-detail", args=[map_run.pk, "ok"])
    member = login(owner).get(url).content.decode()
    assert 'value="approve"' in member and 'class="approval-link"' in member

    staff = make_user("boss", other_team, is_staff=True)  # sees every run, is not of this one's team
    client = login(staff)
    page = client.get(url).content.decode()
    assert "Ship it?" in page  # what is asked, and until when
    assert 'value="approve"' not in page and 'class="approval-link"' not in page
    assert 'data-decide="team-only"' in page
    decide = reverse("step-decide", args=[map_run.pk, "ok"])
    assert client.post(decide, {"decision": "approve"}).status_code == 403
    assert StepRun.objects.get(run=map_run, step_id="ok").status == "waiting"


# --- a page that doesn't grow with the items ---------------------------------------------------------


def queries_of(client, url, **query) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, query).status_code == 200
    return len(captured)


def test_the_run_page_reads_as_much_for_2000_items_as_for_20(owner_client, team, components):
    small = make_map_run(team, item_statuses(20, done=5, running=4, failed=1))
    owner_client.get(reverse("run-detail", args=[small.pk]))  # warm: the session, the registry, the plan
    by_size = {}
    for size, run in ((20, small), (2000, make_map_run(team, item_statuses(2000, done=500, running=4, failed=3)))):
        by_size[size] = (
            queries_of(owner_client, reverse("run-detail", args=[run.pk])),
            queries_of(owner_client, reverse("step-detail", args=[run.pk, "each"])),
            queries_of(owner_client, reverse("step-detail", args=[run.pk, "each"]), part="items", page=30),
        )
    assert by_size[2000] == by_size[20], by_size
    big = Run.objects.filter(workflow__slug="fan").latest("id")
    page = owner_client.get(reverse("run-detail", args=[big.pk]))
    assert len(page.context["steps"]) == len(OWN_STEPS)
    assert nodes_of(page)["each"]["items"] == {"total": 2000, "done": 500, "running": 4, "failed": 3}


# --- live -----------------------------------------------------------------------------------------------


def test_an_items_event_updates_its_maps_row_and_node(map_run):
    shown = {}
    live.run_update_messages(map_run.pk, all_steps=True, shown=shown)  # the page's catch-up
    StepRun.objects.filter(run=map_run, step_id__in=["each[40]", "each[41]"]).update(status="succeeded")
    StepRun.objects.filter(run=map_run, step_id="each[42]").update(status="failed", error="no")
    rows, rest = live.run_update_messages(map_run.pk, step_ids={"each[40]", "each[41]", "each[42]"}, shown=shown)
    assert re.findall(r'<tr id="step-([^"]+)"', rows) == ["each"]  # the map's row only, never an item's
    assert "32 of 120 done · 4 running · 3 failed" in rows
    update = rest[rest.index('id="dag-update"') :]
    nodes = json.loads(re.search(r'data-nodes="([^"]*)"', update).group(1).replace("&quot;", '"'))
    assert nodes == {"each": {"items": {"total": 120, "done": 32, "running": 4, "failed": 3}}}
    assert "each[" not in rest

    # Nothing moved since: a flush (another step's event) sends the map no more.
    assert len(live.run_update_messages(map_run.pk, step_ids={"list"}, shown=shown)) == 2  # list's row, the rest
    assert len(live.run_update_messages(map_run.pk, step_ids=set(), shown=shown)) == 1


def test_a_waiting_steps_node_clears_once_it_no_longer_waits(map_run):
    shown = {}
    live.run_update_messages(map_run.pk, all_steps=True, shown=shown)
    StepRun.objects.filter(run=map_run, step_id="ok").update(status="succeeded", finished=timezone.now())
    _, rest = live.run_update_messages(map_run.pk, step_ids={"ok"}, shown=shown)
    nodes = json.loads(re.search(r'data-nodes="([^"]*)"', rest).group(1).replace("&quot;", '"'))
    assert nodes == {"ok": {}}


def test_the_workflow_pages_graph_draws_a_map_as_one_node_too(components):
    drawn = json.loads(dag_json(PARENT))["nodes"]
    assert [node["id"] for node in drawn] == OWN_STEPS
    assert [node["id"] for node in drawn if node.get("map")] == ["each"]
    planned = {node["id"]: node for node in plan_graph(build_plan(PARENT))["nodes"]}
    assert all(planned[node["id"]]["component"] == node["component"] for node in drawn)  # "workflow child" too
    assert planned["each"]["map"] is True and "items" not in planned["each"]  # counts come with a run


@pytest.mark.asyncio
async def test_an_items_event_marks_its_map_for_the_next_flush():
    consumer = RunConsumer()
    consumer.changed_steps, consumer.all_steps = set(), False
    consumer.schedule_flush = lambda: None
    for index in range(1000):
        event = StepEvent(run=1, step=f"each[{index}]", status="succeeded", attempt=1, worker="", error="",
                          enqueued=None, started=None, finished=None, at=1.0)  # fmt: skip
        await consumer.oaweb_event({"type": MESSAGE_TYPE, "event": event.as_message()})
    assert consumer.changed_steps == {"each"}


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_connections")
async def test_a_thousand_items_ending_make_a_few_updates_of_the_map(owner, team, components):
    """1,000 items end within a second, each with its event: the page gets a few updates, the last one right."""
    run = await sync_to_async(make_map_run)(team, item_statuses(1000, running=4))
    communicator = await connect(f"/ws/runs/{run.pk}/", owner)
    assert (await communicator.connect())[0]
    await receive_all(communicator, 0.5)  # catch-up

    def end(indexes):
        now = timezone.now()
        StepRun.objects.filter(run=run, item_index__in=indexes).update(status="succeeded", attempt=1, finished=now)
        for step in StepRun.objects.filter(run=run, item_index__in=indexes):
            events.step_changed(step)

    for first in range(0, 1000, 100):
        await sync_to_async(end)(range(first, first + 100))
        await asyncio.sleep(0.05)
    messages = await receive_all(communicator, 1.5)
    updates = [message for message in messages if 'id="run-head"' in message]
    assert 1 <= len(updates) <= 25, len(updates)
    assert all("each[" not in message for message in messages)  # no item's row nor node
    rows = [message for message in messages if message.startswith("<tr")]
    assert "1000 of 1000 done" in rows[-1]
    sent = [
        json.loads(re.search(r'data-nodes="([^"]*)"', update).group(1).replace("&quot;", '"')) for update in updates
    ]
    counts = [nodes["each"]["items"] for nodes in sent if "each" in nodes]  # a later flush may draw the timeline only
    assert counts[-1] == {"total": 1000, "done": 1000, "running": 0, "failed": 0}
    await communicator.disconnect()
