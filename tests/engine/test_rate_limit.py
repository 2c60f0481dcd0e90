"""A component's rate_limit spaces its steps out, across every worker."""

from tests.conftest import run_definition
from workflows.steps import rate_interval


def test_steps_of_a_rate_limited_component_start_at_least_an_interval_apart(workers):
    definition = {"id": "limited", "steps": [{"id": f"s{n}", "component": "test.limited"} for n in range(6)]}

    run = run_definition(definition)

    assert run.status == "succeeded"
    starts = sorted(run.steps.values_list("started", flat=True))
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(starts, starts[1:], strict=False)]
    # 5/s: one slot every 0.2 s (a little slack for clocks read on different machines).
    assert min(gaps) >= 0.15, gaps
    assert (starts[-1] - starts[0]).total_seconds() >= 0.95


def test_rate_interval_reads_celery_syntax():
    assert rate_interval("10/s") == 0.1
    assert rate_interval("30/m") == 2.0
    assert rate_interval("2/h") == 1800.0
    assert rate_interval("4") == 0.25
    assert rate_interval("fast") is None
    assert rate_interval("0/s") is None
    assert rate_interval("3/d") is None
