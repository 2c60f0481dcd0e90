"""A component's rate_limit spaces its steps out, across every worker."""

from tests.conftest import run_definition
from workflows.execution.attempts import rate_interval


def test_steps_of_a_rate_limited_component_start_at_least_an_interval_apart(workers):
    definition = {"id": "limited", "steps": [{"id": f"s{n}", "component": "test.limited"} for n in range(6)]}

    run = run_definition(definition)

    assert run.status == "succeeded"
    starts = sorted(run.steps.values_list("started", flat=True))
    since_first = [(start - starts[0]).total_seconds() for start in starts]
    # 5/s: the k-th step can't start before k slots of 0.2 s have passed (a late
    # timer may bunch two starts, never make them come early). A little slack
    # for clocks read on different machines.
    for k, elapsed in enumerate(since_first):
        assert elapsed >= k * 0.2 * 0.9, since_first


def test_rate_interval_reads_celery_syntax():
    assert rate_interval("10/s") == 0.1
    assert rate_interval("30/m") == 2.0
    assert rate_interval("2/h") == 1800.0
    assert rate_interval("4") == 0.25
    assert rate_interval("fast") is None
    assert rate_interval("0/s") is None
    assert rate_interval("3/d") is None
