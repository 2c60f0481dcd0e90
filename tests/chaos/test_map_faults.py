"""A worker killed in the middle of a map's items, and a rescuer that finishes it: nothing lost, nothing twice.

The armed worker is alone on its queue with one thread. The map step's
expansion claims its first items for that worker (all of them once its
heartbeat finds no other worker on the queue: pace.py) and queues the rest;
it dies at a failpoint while holding items (claimed, or run but not committed). The
rescuer must finish the map: every item succeeds once (the held ones after a
lost attempt), the map's outputs hold every item in order, the run's count of
unfinished steps ends at 0, and no item runs again after its success.
"""

import pytest

from tests.chaos.test_failpoints import attempts_of
from tests.faults import (
    assert_each_success_recorded_once,
    failpoint_env,
    failpoint_fired,
    purge_queues,
    step_counts,
    tail,
    wait_for_exit,
)
from workflows.execution.models import StepRun
from workflows.execution.runs import start_run, wait_for_run
from workflows.execution.status import AttemptStatus
from workflows.models import Team, Workflow

pytestmark = [pytest.mark.distributed, pytest.mark.chaos, pytest.mark.slow]

ITEMS = 12


def map_definition(queue: str, concurrency) -> dict:
    each = {
        "component": "core.noop",
        "queue": queue,
        "map": "{{ steps.list.outputs.values }}",
        "inputs": {"n": "{{ item }}"},
    }
    if concurrency:
        each["concurrency"] = concurrency
    return {
        "id": f"map-faults-{queue}",
        "steps": [
            {"id": "list", "component": "core.noop", "queue": queue, "inputs": {"values": list(range(ITEMS))}},
            {"id": "each", **each},
            {
                "id": "after",
                "component": "core.noop",
                "queue": queue,
                "inputs": {"got": "{{ steps.each.outputs.results }}"},
            },
        ],
    }


@pytest.mark.parametrize(
    ("point", "hit", "concurrency"),
    # before_commit's first hit is the list's success; its second, the first items' (however many returned
    # together: a returned item hands its slot to the next at once, so they may all be in it).
    [("step.claimed", 4, None), ("step.before_commit", 2, None), ("step.claimed", 4, 3)],
    ids=["claimed", "before-commit", "claimed-concurrency-3"],
)
def test_a_map_finishes_once_after_its_worker_dies_among_its_items(workers, worker_processes, point, hit, concurrency):
    queue = f"chaos-map-{point.replace('.', '-')}-{concurrency or 'all'}"
    purge_queues(queue)
    version, _ = Workflow.import_definition(map_definition(queue, concurrency), team=Team.default())
    armed = worker_processes.start(f"armed-map-{queue}", queues=queue, concurrency=1, env=failpoint_env(point, hit))
    try:
        run = start_run(version, {})
        died = wait_for_exit(armed, timeout=30)
        assert died is not None, f"{point} never fired:\n{tail(armed)}"
        held = sorted(
            StepRun.objects.filter(run=run, status="running", worker__endswith=f":{armed.pid}").values_list(
                "step_id", flat=True
            )
        )
        worker_processes.start(f"rescuer-map-{queue}", queues=queue, concurrency=2)
        run = wait_for_run(run, timeout=60)
    finally:
        worker_processes.stop(f"rescuer-map-{queue}")
        worker_processes.stop(armed.name)

    attempts = attempts_of(run)
    counts = step_counts([run.pk])
    context = f"{point}:{hit}: held at the death {held}; attempts {attempts}; {counts}"
    print(context)
    assert failpoint_fired(armed, point), tail(armed)
    assert held and all(step_id.startswith("each[") for step_id in held), context
    assert counts.steps == ITEMS + 3, context
    assert_each_success_recorded_once(counts, context)
    for step_id in held:
        assert attempts[step_id] == [AttemptStatus.LOST, AttemptStatus.SUCCEEDED], context
    assert counts.extra_attempts == len(held), context
    mapped = run.steps.get(step_id="each")
    assert mapped.outputs == {"results": [{"n": n} for n in range(ITEMS)], "errors": []}
    assert run.unfinished == 0
