"""Map (for-each), with real workers: items as steps, outputs in order, concurrency, retries, failures, cancel."""

import math
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.execution.test_subworkflows import define
from tests.execution.test_waits import waiting
from workflows.execution import transitions
from workflows.execution.models import Run, StepAttempt, StepRun
from workflows.execution.plans import compiled
from workflows.execution.runs import cancel_run, rerun, start_run, wait_for_run

pytestmark = [pytest.mark.slow]

LIST = {"values": {"type": "array", "items": {"type": "integer"}}}


def mapping_workflow(team, map_step, after=True):
    steps = [{"id": "each", **map_step}]
    if after:
        steps.append({"id": "after", "component": "core.noop", "inputs": {"got": "{{ steps.each.outputs.results }}"}})
    return define(team, "mapper", steps, LIST, {"results": "{{ steps.each.outputs.results }}"})


def items_of(run) -> list[StepRun]:
    return list(StepRun.objects.filter(run=run, map_step__isnull=False).order_by("item_index"))


def test_each_item_runs_as_its_own_step_and_the_outputs_come_back_in_order(workers, team):
    each = {"component": "core.noop", "map": "{{ inputs.values }}", "inputs": {"n": "{{ item }}", "at": "{{ index }}"}}
    values = [5, 3, 8, 1, 9, 2, 7]
    run = wait_for_run(start_run(mapping_workflow(team, each), {"values": values}), timeout=60)
    assert run.status == "succeeded", run.error
    expected = [{"n": value, "at": index} for index, value in enumerate(values)]
    assert run.outputs == {"results": expected}
    mapped = run.steps.get(step_id="each")
    assert (mapped.status, mapped.outputs) == ("succeeded", {"results": expected, "errors": []})
    assert mapped.wait["kind"] == "map" and mapped.wait["items"] == len(values) and mapped.items_left == 0
    items = items_of(run)
    assert [item.step_id for item in items] == [f"each[{index}]" for index in range(len(values))]
    assert [item.item for item in items] == values
    assert all(item.status == "succeeded" and item.attempt == 1 and item.map_step_id == mapped.pk for item in items)
    assert StepAttempt.objects.filter(step_run__in=items, status="succeeded").count() == len(values)
    assert run.steps.get(step_id="after").inputs == {"got": expected}
    assert run.unfinished == 0


def test_a_map_over_a_steps_output(workers, team):
    steps = [
        {"id": "list", "component": "core.noop", "inputs": {"names": ["ada", "grace", "alan"]}},
        {
            "id": "each",
            "component": "core.noop",
            "map": "{{ steps.list.outputs.names }}",
            "inputs": {"hi": "hi {{ item }}"},
        },
    ]
    version = define(team, "greeter", steps, {}, {"said": "{{ steps.each.outputs.results }}"})
    run = wait_for_run(start_run(version, {}), timeout=60)
    assert run.status == "succeeded", run.error
    assert run.outputs == {"said": [{"hi": "hi ada"}, {"hi": "hi grace"}, {"hi": "hi alan"}]}


def test_an_empty_list_succeeds_with_no_results(workers, team):
    each = {"component": "test.raise", "map": "{{ inputs.values }}", "inputs": {}}
    run = wait_for_run(start_run(mapping_workflow(team, each), {"values": []}), timeout=60)
    assert run.status == "succeeded", run.error
    assert run.steps.get(step_id="each").outputs == {"results": [], "errors": []}
    assert run.steps.get(step_id="after").inputs == {"got": []}
    assert items_of(run) == []


def test_a_map_over_something_else_than_a_list_fails_its_step(workers, team):
    version = define(
        team,
        "bad-map",
        [{"id": "each", "component": "core.noop", "map": "{{ inputs.values }}", "inputs": {}}],
        {"values": {"type": "object"}},
    )
    run = wait_for_run(start_run(version, {"values": {"a": 1}}), timeout=60)
    assert run.status == "failed"
    assert "is an object, not a list" in run.steps.get(step_id="each").error


def test_no_more_items_run_at_once_than_the_concurrency_allows(workers, team, tmp_path):
    each = {
        "component": "test.interval",
        "map": "{{ inputs.values }}",
        "concurrency": 2,
        "inputs": {"folder": str(tmp_path), "name": "{{ index }}", "seconds": 0.15},
    }
    run = wait_for_run(start_run(mapping_workflow(team, each), {"values": list(range(8))}), timeout=90)
    assert run.status == "succeeded", run.error
    spans = [tuple(map(float, path.read_text().split())) for path in tmp_path.iterdir()]
    assert len(spans) == 8
    # The most calls that ran at the same moment, over every start.
    overlap = max(sum(1 for start, end in spans if start <= moment < end) for moment, _ in spans)
    assert overlap <= 2, sorted(spans)


def test_each_item_is_retried_on_its_own(workers, team, tmp_path):
    each = {
        "component": "test.fail_first_time",
        "map": "{{ inputs.values }}",
        "retry": {"max_attempts": 2, "delay": 0, "jitter": False},
        "inputs": {"marker": f"{tmp_path}/marker-{{{{ index }}}}"},
    }
    run = wait_for_run(start_run(mapping_workflow(team, each), {"values": [0, 1, 2, 3]}), timeout=60)
    assert run.status == "succeeded", run.error
    items = items_of(run)
    assert [item.attempt for item in items] == [2, 2, 2, 2]
    for item in items:
        assert list(item.attempts.order_by("number").values_list("status", flat=True)) == ["failed", "succeeded"]
    assert run.outputs == {"results": [{"second_time": True}] * 4}


def flaky_items(tmp_path, succeeding):
    """Markers for test.fail_first_time: the items listed in `succeeding` have theirs already."""
    for index in succeeding:
        Path(tmp_path, f"marker-{index}").touch()
    return {
        "component": "test.fail_first_time",
        "map": "{{ inputs.values }}",
        "inputs": {"marker": f"{tmp_path}/marker-{{{{ item }}}}"},
    }


def test_with_allow_failures_a_failed_item_gives_null_and_an_error(workers, team, tmp_path):
    each = {**flaky_items(tmp_path, succeeding=[0, 2]), "allow_failures": True}
    run = wait_for_run(start_run(mapping_workflow(team, each), {"values": [0, 1, 2, 3]}), timeout=60)
    assert run.status == "succeeded", run.error
    mapped = run.steps.get(step_id="each")
    ok = {"second_time": True}
    assert mapped.outputs["results"] == [ok, None, ok, None]
    assert [error["index"] for error in mapped.outputs["errors"]] == [1, 3]
    assert all("failing on purpose" in error["error"] for error in mapped.outputs["errors"])
    assert run.steps.get(step_id="after").status == "succeeded"


def test_without_allow_failures_a_failed_item_fails_the_map_and_stops_the_others(workers, team, tmp_path):
    each = {**flaky_items(tmp_path, succeeding=[]), "concurrency": 1}
    run = wait_for_run(start_run(mapping_workflow(team, each), {"values": list(range(5))}), timeout=60)
    assert run.status == "failed"
    mapped = run.steps.get(step_id="each")
    assert mapped.status == "failed" and mapped.error.startswith("item 0 failed:")
    statuses = [item.status for item in items_of(run)]
    assert statuses == ["failed", "cancelled", "cancelled", "cancelled", "cancelled"]
    assert run.steps.get(step_id="after").status == "skipped"
    assert run.unfinished == 0


def test_cancelling_the_run_cancels_its_items(workers, team):
    each = {"component": "core.approval", "map": "{{ inputs.values }}", "inputs": {"message": "item {{ index }}?"}}
    run = start_run(mapping_workflow(team, each), {"values": [1, 2, 3]})
    waiting(run, "each")
    for index in range(3):
        waiting(run, f"each[{index}]")
    assert cancel_run(run)
    assert {item.status for item in items_of(run)} == {"cancelled"}
    assert Run.objects.get(pk=run.pk).status == "cancelled"


def test_a_map_over_a_workflow_runs_a_child_run_per_item(workers, team):
    child = {"id": "work", "component": "core.noop", "inputs": {"value": "{{ inputs.n }}"}}
    define(team, "child", [child], {"n": {"type": "integer"}}, {"value": "{{ steps.work.outputs.value }}"})
    each = {"workflow": "child", "map": "{{ inputs.values }}", "inputs": {"n": "{{ item }}"}}
    run = wait_for_run(start_run(mapping_workflow(team, each), {"values": [4, 5, 6]}), timeout=90)
    assert run.status == "succeeded", run.error
    assert run.outputs == {"results": [{"value": 4}, {"value": 5}, {"value": 6}]}
    children = Run.objects.filter(parent_step__in=items_of(run))
    assert sorted(children.values_list("outputs", flat=True), key=str) == [{"value": 4}, {"value": 5}, {"value": 6}]


def test_when_a_map_over_a_workflow_fails_the_other_items_child_runs_are_cancelled(workers, team):
    child = [
        {"id": "fail", "component": "test.raise", "when": "inputs.n == 0"},
        {"id": "ask", "component": "core.approval", "inputs": {"message": "?"}, "when": "inputs.n != 0"},
    ]
    define(team, "child", child, {"n": {"type": "integer"}})
    each = {"workflow": "child", "map": "{{ inputs.values }}", "inputs": {"n": "{{ item }}"}}
    run = start_run(mapping_workflow(team, each), {"values": [1, 2, 0]})
    run = wait_for_run(run, timeout=60)
    assert run.status == "failed"
    assert run.steps.get(step_id="each").error.startswith("item 2 failed:")
    children = Run.objects.filter(parent_step__in=items_of(run))
    deadline = time.monotonic() + 30  # the reaper's pass cancels the children nothing waits for
    while children.filter(status__in=["pending", "running"]).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sorted(children.values_list("status", flat=True)) == ["cancelled", "cancelled", "failed"]


def test_a_rerun_reuses_a_map_that_succeeded_without_its_items(workers, team, tmp_path):
    each = {"component": "core.noop", "map": "{{ inputs.values }}", "inputs": {"n": "{{ item }}"}}
    steps = [
        {"id": "each", **each},
        {
            "id": "after",
            "component": "test.fail_first_time",
            "inputs": {"marker": f"{tmp_path}/after"},
            "depends_on": ["each"],
        },
    ]
    version = define(team, "rerun-map", steps, LIST, {"results": "{{ steps.each.outputs.results }}"})
    first = wait_for_run(start_run(version, {"values": [1, 2, 3]}), timeout=60)
    assert first.status == "failed"
    second = wait_for_run(rerun(first), timeout=60)
    assert second.status == "succeeded", second.error
    assert second.outputs == {"results": [{"n": 1}, {"n": 2}, {"n": 3}]}
    mapped = second.steps.get(step_id="each")
    assert mapped.reused_from_id == first.steps.get(step_id="each").pk
    assert items_of(second) == [] and len(items_of(first)) == 3
    assert second.unfinished == 0


def claimed_map(team, **options):
    """A run of a map workflow written without publishing anything, and its map step claimed: (claimed, spec)."""
    from registry import lookup

    each = {"component": "core.noop", "map": "{{ inputs.values }}", "inputs": {"n": "{{ item }}"}, **options}
    version = mapping_workflow(team, each)
    run, _ = transitions.create_run(
        version,
        {"values": []},
        lookup.components(),
        created_by=None,
        priority=5,
        trigger="manual",
        rerun_of=None,
        reused={},
        defer=False,
    )
    claimed, _ = transitions.claim(run.steps.get(step_id="each").pk, "test", "task")
    return claimed, compiled(version.pk, version.content_hash).step("each")


def test_a_thousand_items_are_written_in_a_few_statements(transactional_db, team, components):
    """Creating items is a bulk insert: the statements don't grow with the list."""
    claimed, step = claimed_map(team)
    with CaptureQueriesContext(connection) as queries:
        advance = transitions.expand(claimed, step, list(range(1000)), go=0, task_id="")
    assert advance.recorded and len(advance.ready) == 1000
    # SQLite caps a statement's parameters: its bulk insert takes a few dozen rows at a time.
    per_insert = min(2000, connection.ops.bulk_batch_size(StepRun._meta.concrete_fields, [None] * 1000))
    limit = 6 + math.ceil(1000 / per_insert)
    assert len(queries) <= limit, [query["sql"][:80] for query in queries]
    items = StepRun.objects.filter(map_step_id=claimed.step_run_id)
    assert items.count() == 1000 and set(items.values_list("status", flat=True)) == {"queued"}
    assert Run.objects.get(pk=claimed.run_id).unfinished == 1000 + 2


def test_the_concurrency_bound_holds_in_the_rows_too(transactional_db, team, components):
    """Only `concurrency` items are queued (or claimed) when the map starts; the others wait their turn, pending."""
    claimed, step = claimed_map(team, concurrency=3)
    advance = transitions.expand(claimed, step, list(range(10)), go=5, task_id="t")
    assert [c.item.index for c in advance.continued] == [0, 1, 2] and not advance.ready  # `go` never passes the bound
    items = StepRun.objects.filter(map_step_id=claimed.step_run_id).order_by("item_index")
    assert list(items.values_list("status", flat=True)) == ["running"] * 3 + ["pending"] * 7
