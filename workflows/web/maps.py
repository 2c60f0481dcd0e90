"""A map step on the run page: its items' counts, and one page of its items.

A map may have 10,000 items: they are never rows of the step table nor
nodes of the graph. The map's node and row show counts, read in one
GROUP BY (map_step, status) for every map of the run (the index
steprun_map_items serves it); its panel lists a page of its items, read with
LIMIT/OFFSET on the same index, the page count taken from those counts.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from workflows.execution.models import StepRun
from workflows.execution.status import StepStatus
from workflows.redaction import redact_data

ITEMS_PAGE = 50
PREVIEW_CHARS = 80

# How the counts group the statuses: "running" is every item started and not final (a queued
# item is on its way to a worker, a waiting one waits for its child run).
DONE, RUNNING, FAILED, PENDING, STOPPED = "done", "running", "failed", "pending", "stopped"
GROUPS = {
    DONE: (StepStatus.SUCCEEDED,),
    RUNNING: (StepStatus.QUEUED, StepStatus.RUNNING, StepStatus.RETRYING, StepStatus.WAITING),
    FAILED: (StepStatus.FAILED,),
    PENDING: (StepStatus.PENDING,),
    STOPPED: (StepStatus.CANCELLED, StepStatus.SKIPPED),
}
# The list's filters, in the order its tabs show them: failures first, they want attention.
FILTERS = (FAILED, RUNNING, PENDING, DONE, STOPPED)


@dataclass(frozen=True, slots=True)
class ItemCounts:
    total: int = 0
    done: int = 0
    running: int = 0
    failed: int = 0
    pending: int = 0
    stopped: int = 0

    @classmethod
    def of(cls, by_status: dict[str, int]) -> "ItemCounts":
        grouped = {group: sum(by_status.get(status, 0) for status in statuses) for group, statuses in GROUPS.items()}
        return cls(total=sum(by_status.values()), **grouped)

    def get(self, group: str) -> int:
        return getattr(self, group) if group in GROUPS else self.total

    @property
    def text(self) -> str:
        """`12 of 100 done · 3 running · 1 failed`: what the map's row says."""
        parts = [f"{self.done} of {self.total} done"]
        parts += [f"{count} {group}" for group, count in ((RUNNING, self.running), (FAILED, self.failed)) if count]
        if self.stopped:
            parts.append(f"{self.stopped} cancelled")
        return " · ".join(parts)

    def as_json(self) -> dict:
        """What the graph's map node draws (static/oaweb/dag.js)."""
        return {"total": self.total, DONE: self.done, RUNNING: self.running, FAILED: self.failed}


def item_counts(map_step_ids) -> dict[int, ItemCounts]:
    """{map step run id: its items' counts}, in one query; maps without items are left out."""
    ids = list(map_step_ids)
    if not ids:
        return {}
    return {map_step_id: ItemCounts.of(by_status) for map_step_id, by_status in StepRun.items_by_status(ids).items()}


@dataclass(frozen=True, slots=True)
class ItemRow:
    """One item as the map's list shows it."""

    step_id: str
    index: int
    status: str
    attempt: int
    error: str
    enqueued: datetime | None
    started: datetime | None
    finished: datetime | None
    preview: str  # its value as short JSON, secrets masked
    child_run: int | None  # an item of a map over a workflow: its child run


ITEM_FIELDS = ("step_id", "item_index", "status", "attempt", "error", "enqueued", "started", "finished", "item", "wait")


def _row(step_id, index, status, attempt, error, enqueued, started, finished, item, wait) -> ItemRow:
    text = json.dumps(redact_data(item), ensure_ascii=False)
    preview = text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
    child = wait.get("run") if isinstance(wait, dict) and wait.get("kind") == "run" else None
    return ItemRow(step_id, index, status, attempt, error, enqueued, started, finished, preview, child)


@dataclass(frozen=True)
class ItemsPage:
    """One page of a map's items, under one filter (a group of FILTERS, or "" for all)."""

    rows: list[ItemRow]
    counts: ItemCounts
    filter: str
    number: int
    pages: int

    @property
    def count(self) -> int:
        return self.counts.get(self.filter)

    @property
    def first(self) -> int:
        return (self.number - 1) * ITEMS_PAGE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None

    @property
    def tabs(self) -> list[tuple[str, str, int]]:
        """(filter, its label, how many): "All" first, then the groups that have items."""
        shown = [("", "All", self.counts.total)]
        shown += [(group, group, self.counts.get(group)) for group in FILTERS if self.counts.get(group)]
        return shown


def items_page(map_step: StepRun, wanted: str = "", number: str | int | None = 1) -> ItemsPage:
    """The items of `map_step` under filter `wanted`, page `number` (clamped), in their order."""
    counts = item_counts([map_step.pk]).get(map_step.pk, ItemCounts())
    wanted = wanted if wanted in GROUPS else ""
    count = counts.get(wanted)
    pages = max(1, -(-count // ITEMS_PAGE))
    try:
        number = min(max(int(number), 1), pages)
    except (TypeError, ValueError):
        number = 1
    items = StepRun.objects.filter(map_step=map_step)
    if wanted:
        items = items.filter(status__in=GROUPS[wanted])
    start = (number - 1) * ITEMS_PAGE
    rows = items.order_by("item_index").values_list(*ITEM_FIELDS)[start : start + ITEMS_PAGE]
    return ItemsPage([_row(*row) for row in rows], counts, wanted, number, pages)
