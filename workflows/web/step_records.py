"""A run's steps as plain records for the run page: what its table, graph, progress and timeline read.

The run page of a 10,000-step run read its steps as StepRun instances, and
building them was about half of the page's time (Model.__init__ over 19
fields, 10,000 times). A StepRecord carries the attributes that the
page's parts read (live.run_context: the table rows, the progress, the
timeline, the graph's statuses), built from one values_list query.

A map's items are left out: the map step's record carries their counts
(maps.item_counts, one more query when the run has started maps), so a map
of 10,000 items costs the page the same as a map of ten.
"""

from dataclasses import dataclass, replace
from datetime import datetime

from workflows.execution.models import StepRun
from workflows.execution.status import StepStatus
from workflows.web import waiting
from workflows.web.maps import ItemCounts, item_counts


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
    wait: dict | None
    wait_until: datetime | None
    items_left: int | None  # set on a map step once its items exist
    items: ItemCounts | None = None  # a map step's items, counted (not a column)

    @property
    def pk(self) -> int:
        return self.id

    @property
    def is_map(self) -> bool:
        return self.items_left is not None

    @property
    def waits_for(self) -> str:
        """What a waiting step waits for, in words (a map's items are told by their counts instead)."""
        if self.status != StepStatus.WAITING or self.is_map:
            return ""
        return waiting.waits_for(self.wait, self.wait_until)

    @property
    def child_run(self) -> int | None:
        """A sub-workflow step's (latest) child run: its row links to it, waiting or not."""
        return waiting.child_run(self.wait)

    @property
    def node_detail(self) -> str:
        """The second line of a waiting step's graph node (a map's node draws its counts)."""
        if self.is_map:
            return ""
        if self.status == StepStatus.WAITING:
            return waiting.short(self.wait, self.wait_until)
        return f"run #{self.child_run}" if self.child_run else ""


# The columns read, in the record's order: live.STEP_LIST_FIELDS (a test keeps the two the same).
FIELDS = tuple(name for name in StepRecord.__dataclass_fields__ if name != "items")


def records_query(run):
    """The query of the run's own steps (not a map's items) as tuples of FIELDS, in the table's order."""
    return StepRun.objects.filter(run=run, map_step__isnull=True).order_by("id").values_list(*FIELDS)


def as_records(rows) -> list[StepRecord]:
    """StepRecords of records_query's rows, each map's with its items' counts."""
    records = [StepRecord(*row) for row in rows]
    maps = [record.pk for record in records if record.is_map]
    if not maps:
        return records
    counts = item_counts(maps)
    return [
        replace(record, items=counts.get(record.pk, ItemCounts())) if record.is_map else record for record in records
    ]


def step_records(run) -> list[StepRecord]:
    """Every step of `run` in the table's order (by id), as StepRecords."""
    return as_records(records_query(run))
