import pytest

from tests.conftest import noop_definition
from tests.metrics.helpers import finished_run, recently


@pytest.fixture
def workflow(make_workflow):
    """`hello`, owned by `team` (the owner's)."""
    return make_workflow(noop_definition("hello"))


@pytest.fixture
def known_runs(workflow):
    """100 runs of 1..100 s; every tenth failed; one core.noop step each taking a tenth of its run.

    All finished in the same minute, however long making them takes.
    """
    finished = recently()
    for seconds in range(1, 101):
        failed = seconds % 10 == 0
        finished_run(
            workflow,
            seconds,
            status="failed" if failed else "succeeded",
            finished=finished,
            steps=[("core.noop", "failed" if failed else "succeeded", seconds / 10, 0.002)],
        )
