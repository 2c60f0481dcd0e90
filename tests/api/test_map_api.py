"""Maps, their items and child runs over the API: counts in the run's detail, items paged by their own endpoint.

Runs, map steps and items are written straight into the database (the engine is not under test here).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from workflows.execution.models import Run, StepAttempt, StepRun
from workflows.models import Workflow

pytestmark = pytest.mark.django_db

MAPPED = {
    "id": "fan",
    "name": "Fan",
    "version": "1.0.0",
    "steps": [
        {"id": "list", "component": "core.noop", "inputs": {"value": ["a", "b"]}},
        {
            "id": "each",
            "component": "core.noop",
            "map": "{{ steps.list.outputs.value }}",
            "concurrency": 2,
            "inputs": {"value": "{{ item }}"},
        },
        {"id": "later", "component": "core.noop", "map": "{{ steps.list.outputs.value }}", "inputs": {}},
        {"id": "child", "workflow": "hello", "inputs": {}},
        {"id": "calls", "workflow": "hello", "map": "{{ steps.list.outputs.value }}", "inputs": {}},
    ],
    "outputs": {},
}


@pytest.fixture
def fan(team, owner):
    return Workflow.import_definition(MAPPED, team=team, author=owner)[0].workflow


def make_run(workflow) -> Run:
    """A running run of `fan`: `list` succeeded, `each` waits for its items (none written yet), the rest pending."""
    now = timezone.now()
    run = Run.objects.create(workflow=workflow, version=workflow.latest_version(), status="running", started=now)
    for step in MAPPED["steps"]:
        StepRun.objects.create(run=run, step_id=step["id"], component=step.get("component", ""))
    run.steps.filter(step_id="list").update(status="succeeded", outputs={"value": ["a", "b"]}, finished=now)
    wait = {"kind": "map", "items": 0, "concurrency": 2, "allow_failures": False}
    run.steps.filter(step_id="each").update(status="waiting", wait=wait, items_left=0)
    return run


def add_items(run: Run, map_id: str, statuses: list[str]) -> list[StepRun]:
    """Items of map step `map_id`, item i in statuses[i]; written last index first, so ids run against indexes."""
    map_step = run.steps.get(step_id=map_id)
    now = timezone.now()
    rows = [
        StepRun(
            run=run,
            step_id=f"{map_id}[{index}]",
            component=map_step.component,
            status=status,
            map_step=map_step,
            item_index=index,
            item={"n": index},
            attempt=0 if status in ("pending", "queued") else 1,
            outputs={"value": index} if status == "succeeded" else None,
            error="boom" if status == "failed" else "",
            started=now if status not in ("pending", "queued") else None,
            finished=now if status in ("succeeded", "failed") else None,
        )
        for index, status in reversed(list(enumerate(statuses)))
    ]
    created = StepRun.objects.bulk_create(rows)
    left = sum(status not in ("succeeded", "failed", "skipped", "cancelled") for status in statuses)
    StepRun.objects.filter(pk=map_step.pk).update(items_left=left)
    return created


def items_url(run, step="each", query=""):
    return f"/api/v1/runs/{run.pk}/steps/{step}/items/{query}"


def step_of(detail: dict, step_id: str) -> dict:
    return next(step for step in detail["steps"] if step["step_id"] == step_id)


# --- the run's detail ------------------------------------------------------------------


def test_the_detail_counts_a_maps_items_by_status_without_listing_them(fan, owner_api):
    run = make_run(fan)
    add_items(run, "each", ["succeeded", "succeeded", "failed", "running", "queued", "pending"])

    detail = owner_api.get(f"/api/v1/runs/{run.pk}/").json()

    assert [step["step_id"] for step in detail["steps"]] == ["list", "each", "later", "child", "calls"]
    each = step_of(detail, "each")
    assert each["map"] == {
        "items": 6,
        "counts": {"failed": 1, "pending": 1, "queued": 1, "running": 1, "succeeded": 2},
    }
    assert each["status"] == "waiting"
    assert each["wait"] == {"kind": "map", "items": 0, "concurrency": 2, "allow_failures": False}
    assert step_of(detail, "list")["map"] is None


def test_a_map_that_has_not_started_has_no_item_count_yet_and_an_empty_one_has_0(fan, owner_api):
    run = make_run(fan)
    # A map over an empty list writes no item: it succeeds at once.
    run.steps.filter(step_id="later").update(status="succeeded", outputs={"results": [], "errors": []})

    detail = owner_api.get(f"/api/v1/runs/{run.pk}/").json()

    assert step_of(detail, "calls")["map"] == {"items": None, "counts": {}}
    assert step_of(detail, "later")["map"] == {"items": 0, "counts": {}}


def test_the_details_queries_do_not_grow_with_the_items(fan, owner_api):
    small, large = make_run(fan), make_run(fan)
    add_items(small, "each", ["succeeded"] * 2)
    add_items(large, "each", ["succeeded"] * 150 + ["running"] * 150)
    add_items(large, "calls", ["waiting"] * 50)
    owner_api.get(f"/api/v1/runs/{small.pk}/")  # the compiled version is cached per process: warm it

    with CaptureQueriesContext(connection) as few:
        first = owner_api.get(f"/api/v1/runs/{small.pk}/")
    with CaptureQueriesContext(connection) as many:
        second = owner_api.get(f"/api/v1/runs/{large.pk}/")

    assert first.status_code == second.status_code == 200
    assert step_of(second.json(), "each")["map"]["items"] == 300
    assert len(many) == len(few), [query["sql"] for query in many]


def test_the_details_queries_do_not_grow_with_its_maps_and_sub_workflows(team, owner, owner_api):
    def run_with(maps: int) -> Run:
        steps = [{"id": "list", "component": "core.noop", "inputs": {}}]
        steps += [
            {"id": f"m{n}", "component": "core.noop", "map": "{{ steps.list.outputs.value }}"} for n in range(maps)
        ]
        steps += [{"id": f"w{n}", "workflow": "hello", "inputs": {}} for n in range(maps)]
        definition = {"id": f"maps{maps}", "version": "1.0.0", "steps": steps, "outputs": {}}
        workflow = Workflow.import_definition(definition, team=team, author=owner)[0].workflow
        run = Run.objects.create(workflow=workflow, version=workflow.latest_version(), status="running")
        StepRun.objects.bulk_create(StepRun(run=run, step_id=step["id"], items_left=0) for step in steps)
        for n in range(maps):
            add_items(run, f"m{n}", ["succeeded"])
        return run

    small, large = run_with(1), run_with(8)
    for warm in (small, large):  # the compiled versions are cached per process
        owner_api.get(f"/api/v1/runs/{warm.pk}/")

    with CaptureQueriesContext(connection) as few:
        owner_api.get(f"/api/v1/runs/{small.pk}/")
    with CaptureQueriesContext(connection) as many:
        detail = owner_api.get(f"/api/v1/runs/{large.pk}/").json()

    assert step_of(detail, "m7")["map"] == {"items": 1, "counts": {"succeeded": 1}}
    assert len(many) == len(few), [query["sql"] for query in many]


# --- the items endpoint ----------------------------------------------------------------


def test_items_are_listed_in_index_order_a_page_at_a_time(fan, owner_api):
    run = make_run(fan)
    add_items(run, "each", ["succeeded", "failed", "running", "queued", "pending"])

    first = owner_api.get(items_url(run, query="?limit=2")).json()
    second = owner_api.get(items_url(run, query="?limit=2&offset=2")).json()

    assert first["count"] == 5 and first["previous"] is None and "offset=2" in first["next"]
    assert [item["index"] for item in first["results"] + second["results"]] == [0, 1, 2, 3]
    item = first["results"][1]
    assert item["step_id"] == "each[1]" and item["status"] == "failed" and item["error"] == "boom"
    assert item["attempt"] == 1 and item["item"] == {"n": 1} and item["outputs"] is None
    assert item["started"] and item["finished"] and item["child_runs"] == []
    assert first["results"][0]["outputs"] == {"value": 0}
    assert set(item) >= {"id", "index", "step_id", "status", "attempt", "outputs", "error", "started", "finished"}


def test_items_are_filtered_by_status(fan, owner_api):
    run = make_run(fan)
    add_items(run, "each", ["succeeded", "failed", "succeeded", "pending", "succeeded"])

    answer = owner_api.get(items_url(run, query="?status=succeeded")).json()

    assert answer["count"] == 3
    assert [item["index"] for item in answer["results"]] == [0, 2, 4]
    assert owner_api.get(items_url(run, query="?status=done")).status_code == 400


def test_a_page_of_items_costs_the_same_queries_whatever_its_size(fan, owner_api):
    run = make_run(fan)
    add_items(run, "calls", ["waiting"] * 120)
    owner_api.get(items_url(run, "calls"))

    with CaptureQueriesContext(connection) as few:
        small = owner_api.get(items_url(run, "calls", "?limit=2"))
    with CaptureQueriesContext(connection) as many:
        large = owner_api.get(items_url(run, "calls", "?limit=100"))

    assert len(small.json()["results"]) == 2 and len(large.json()["results"]) == 100
    assert len(many) == len(few), [query["sql"] for query in many]


def test_a_step_that_is_not_a_map_or_does_not_exist_is_404(fan, owner_api):
    run = make_run(fan)
    add_items(run, "each", ["succeeded"])

    assert owner_api.get(items_url(run, "list")).status_code == 404
    assert owner_api.get(items_url(run, "nope")).status_code == 404
    assert owner_api.get(items_url(run, "each[0]")).status_code == 404  # an item is not a map
    assert owner_api.get(f"/api/v1/runs/{run.pk + 1000}/steps/each/items/").status_code == 404


def test_another_teams_user_gets_404_and_nobody_anonymous_gets_in(fan, outsider_api):
    run = make_run(fan)
    add_items(run, "each", ["succeeded"])

    answer = outsider_api.get(items_url(run))

    assert answer.status_code == 404 and "results" not in answer.json()
    assert APIClient().get(items_url(run)).status_code == 401
    assert outsider_api.post(items_url(run)).status_code == 405


def test_an_items_value_and_outputs_are_redacted(fan, owner_api):
    run = make_run(fan)
    (item,) = add_items(run, "each", ["succeeded"])
    StepRun.objects.filter(pk=item.pk).update(
        item={"url": "https://bob:hunter2@db.example.com/"}, outputs={"url": "https://bob:hunter2@db.example.com/"}
    )

    listed = owner_api.get(items_url(run)).json()["results"][0]
    detail = owner_api.get(f"/api/v1/steps/{item.pk}/").json()

    for shown in (listed, detail):
        assert "hunter2" not in str(shown)
        assert shown["item"] == {"url": "https://***@db.example.com/"}


# --- an item's own step endpoints --------------------------------------------------------


def test_an_item_is_a_step_of_its_own_for_the_step_endpoints(fan, owner_api):
    run = make_run(fan)
    items = add_items(run, "each", ["succeeded", "failed"])
    failed = next(item for item in items if item.item_index == 1)
    now = timezone.now()
    StepAttempt.objects.create(step_run=failed, number=1, status="failed", started=now, finished=now, log="why")

    detail = owner_api.get(f"/api/v1/steps/{failed.pk}/").json()
    logs = owner_api.get(f"/api/v1/runs/{run.pk}/steps/each%5B1%5D/logs")
    raw = owner_api.get(f"/api/v1/runs/{run.pk}/steps/each[1]/logs")

    assert detail["step_id"] == "each[1]" and detail["item_index"] == 1 and detail["item"] == {"n": 1}
    assert detail["map_step"] == run.steps.get(step_id="each").pk and detail["map"] is None
    assert [attempt["status"] for attempt in detail["attempts"]] == ["failed"]
    assert logs.status_code == raw.status_code == 200
    assert logs.json()["step"] == "each[1]" and logs.json()["attempts"][0]["lines"] == ["why"]
    assert owner_api.get(f"/api/v1/steps/{run.steps.get(step_id='each').pk}/").json()["map"]["items"] == 2


# --- child runs -----------------------------------------------------------------------


def child_of(parent_step: StepRun, workflow) -> Run:
    return Run.objects.create(
        workflow=workflow,
        version=workflow.latest_version(),
        trigger="workflow",
        parent_step=parent_step,
        depth=1,
        status="failed",
    )


def test_a_sub_workflow_step_lists_its_child_runs_oldest_first(fan, make_workflow, owner_api):
    hello = make_workflow()
    run = make_run(fan)
    step = run.steps.get(step_id="child")
    first, retried = child_of(step, hello), child_of(step, hello)

    detail = owner_api.get(f"/api/v1/runs/{run.pk}/").json()
    child = owner_api.get(f"/api/v1/runs/{retried.pk}/").json()

    assert step_of(detail, "child")["child_runs"] == [first.pk, retried.pk]
    assert step_of(detail, "list")["child_runs"] == []
    assert child["parent_step"] == step.pk and child["trigger"] == "workflow"
    assert owner_api.get(f"/api/v1/steps/{step.pk}/").json()["child_runs"] == [first.pk, retried.pk]


def test_each_item_of_a_workflow_map_has_its_child_run(fan, make_workflow, owner_api):
    hello = make_workflow()
    run = make_run(fan)
    items = sorted(add_items(run, "calls", ["waiting", "waiting", "pending"]), key=lambda item: item.item_index)
    children = [child_of(item, hello) for item in items[:2]]

    listed = owner_api.get(items_url(run, "calls")).json()["results"]
    detail = owner_api.get(f"/api/v1/runs/{run.pk}/").json()

    assert [item["child_runs"] for item in listed] == [[children[0].pk], [children[1].pk], []]
    assert step_of(detail, "calls")["child_runs"] == []  # the map step's items start them, not the map step
    assert step_of(detail, "calls")["map"] == {"items": 3, "counts": {"pending": 1, "waiting": 2}}


# --- the schema -----------------------------------------------------------------------


def test_the_schema_documents_the_items_endpoint_and_the_new_fields(owner_api):
    schema = owner_api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = schema["paths"]["/api/v1/runs/{id}/steps/{step}/items/"]["get"]
    parameters = {parameter["name"] for parameter in operation["parameters"]}
    assert {"id", "step", "status", "limit", "offset"} <= parameters
    components = schema["components"]["schemas"]
    assert components["Step"]["properties"]["map"].get("nullable") is True
    assert "child_runs" in components["Step"]["properties"]
    assert {"map_step", "item_index", "item"} <= set(components["StepDetail"]["properties"])
    assert {"index", "step_id", "status", "child_runs"} <= set(components["Item"]["properties"])
