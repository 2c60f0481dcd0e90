"""A run's steps as plain records for the run page: what live.step_rows reads, without building models.

The run page of a 10,000-step run read its steps as StepRun instances, and
building them was about half of the page's time (Model.__init__ over 19
fields, 10,000 times). A StepRecord carries the attributes that the
page's parts read (live.run_context: the table rows, the progress, the
timeline, the graph's statuses), built from one values_list query.
"""

from dataclasses import dataclass
from datetime import datetime

from workflows.execution.models import StepRun


@dataclass(frozen=True, slots=True)
class StepRecord:
    id: int
    run_id: int
    step_id: str
    component: str
    status: str
    attempt: int
    queue: str
    worker: str
    error: str
    enqueued: datetime | None
    started: datetime | None
    finished: datetime | None

    @property
    def pk(self) -> int:
        return self.id


# The columns read, in the record's order: live.STEP_LIST_FIELDS (a test keeps the two the same).
FIELDS = tuple(StepRecord.__dataclass_fields__)


def step_records(run) -> list[StepRecord]:
    """Every step of `run` in the table's order (by id), as StepRecords."""
    rows = StepRun.objects.filter(run=run).order_by("id").values_list(*FIELDS)
    return [StepRecord(*row) for row in rows]
