"""What the API shows of steps beyond their rows: a map's items counted by status, a sub-workflow step's child runs.

Read for a list of steps at once, one query per kind of fact and only when the
definition has such steps, so a run's detail costs the same queries for a map
of 10 items or of 10,000 (its items are listed by their own, paginated endpoint).
Which steps are maps or sub-workflows comes from the definition (the compiled
version, cached per process), not from rows: a map that has not started yet has
no items but is a map all the same.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from workflows.execution.items import spec_step_id
from workflows.execution.models import Run, StepRun
from workflows.execution.plans import Compiled, compiled
from workflows.execution.status import StepStatus
from workflows.models import WorkflowVersion


@dataclass(frozen=True)
class StepFacts:
    steps: frozenset[int]  # the StepRun ids these facts were read for
    maps: dict[int, dict] = field(default_factory=dict)  # a map step's id -> {"items": N | None, "counts": {...}}
    child_runs: dict[int, list[int]] = field(default_factory=dict)  # a step's id -> its child runs' ids, oldest first


def compiled_version(version: WorkflowVersion) -> Compiled:
    """The version's compiled form; its definition is read from the database only on a cache miss."""
    definition = None if "definition" in version.get_deferred_fields() else version.definition
    return compiled(version.pk, version.content_hash, definition)


def is_map(version: Compiled, step_id: str) -> bool:
    """A map step of the definition (an item "M[3]" is not one: it is one run of it)."""
    spec = version.spec.steps.get(step_id)
    return spec is not None and spec.map is not None


def starts_child_runs(version: Compiled, step: StepRun) -> bool:
    """A sub-workflow step, or an item of a map that calls a workflow (not that map step: its items do)."""
    spec = version.spec.steps.get(spec_step_id(step.step_id))
    if spec is None or spec.workflow is None:
        return False
    return step.is_item or spec.map is None


def facts_for(steps: list[StepRun], version: Compiled) -> StepFacts:
    """The facts of `steps`, all of one run whose version is `version`."""
    maps = [step for step in steps if not step.is_item and is_map(version, step.step_id)]
    callers = [step.pk for step in steps if starts_child_runs(version, step)]
    return StepFacts(
        steps=frozenset(step.pk for step in steps),
        maps=map_summaries(maps) if maps else {},
        child_runs=child_runs_of(callers) if callers else {},
    )


def facts_of_step(step: StepRun) -> StepFacts:
    """One step's facts (its detail): its run's version read without its definition, which the cache may hold."""
    version = WorkflowVersion.objects.only("pk", "content_hash").get(runs__id=step.run_id)
    return facts_for([step], compiled_version(version))


def map_summaries(maps: list[StepRun]) -> dict[int, dict]:
    """Per map step: how many items it has (None until its list is known) and how many are in each status.

    One GROUP BY over their items (the index steprun_map_items starts with map_step, status).
    """
    counts = defaultdict(dict, StepRun.items_by_status(step.pk for step in maps))
    return {
        step.pk: {"items": _item_count(step, counts[step.pk]), "counts": dict(sorted(counts[step.pk].items()))}
        for step in maps
    }


def _item_count(step: StepRun, counts: dict[str, int]) -> int | None:
    """How many items the map's list had; None while it is not known (the map has not resolved its list)."""
    if counts:
        return sum(counts.values())
    if step.status == StepStatus.SUCCEEDED:
        # An empty list writes no item (the map succeeds at once); a re-run's reused map has its items
        # in the run it came from: its results say how many.
        results = step.outputs.get("results") if isinstance(step.outputs, dict) else None
        return len(results) if isinstance(results, list) else 0
    return None


def child_runs_of(step_ids: list[int]) -> dict[int, list[int]]:
    """Per step: the runs it started, oldest first (a retry of a sub-workflow step starts a new one)."""
    found: dict[int, list[int]] = defaultdict(list)
    rows = Run.objects.filter(parent_step_id__in=step_ids).order_by("id").values_list("parent_step_id", "id")
    for step_id, run_id in rows:
        found[step_id].append(run_id)
    return dict(found)
