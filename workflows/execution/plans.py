"""Compiled versions: what the step path needs from a definition, parsed once per process."""

import threading
from collections import OrderedDict
from dataclasses import dataclass

from workflows.definitions.graph import Plan, build_plan, item_reads, step_reads
from workflows.definitions.spec import StepSpec, WorkflowSpec
from workflows.execution.items import spec_step_id
from workflows.models import WorkflowVersion


@dataclass(frozen=True)
class Compiled:
    version_id: int
    content_hash: str
    definition: dict
    plan: Plan
    spec: WorkflowSpec  # the steps as typed records, for the step path
    # Per step, the steps whose outputs it reads (references in inputs and
    # `when`): only those are fetched, not every parent (depends_on only orders).
    reads: dict[str, frozenset[str]]
    # Per map step, the steps whose outputs each of its items reads (graph.item_reads).
    item_reads: dict[str, frozenset[str]]

    def step(self, step_id: str) -> StepSpec:
        """The spec an engine step runs: its own, or its map step's for a map's item ("M[3]")."""
        found = self.spec.steps.get(step_id)
        return found if found is not None else self.spec.steps[spec_step_id(step_id)]

    def reads_of(self, step_id: str, is_item: bool) -> frozenset[str]:
        return self.item_reads[spec_step_id(step_id)] if is_item else self.reads[step_id]


_compiled: OrderedDict[tuple[int, str], Compiled] = OrderedDict()
_compiled_lock = threading.Lock()
COMPILED_CACHE_SIZE = 512


def compiled(version_id: int, content_hash: str, definition: dict | None = None) -> Compiled:
    """The version's plan, built once per process (versions are immutable).

    Keyed by the content hash too: an id alone can come back with other
    content (SQLite reuses the ids of rolled-back rows).
    """
    key = (version_id, content_hash)
    with _compiled_lock:
        found = _compiled.get(key)
        if found is not None:
            _compiled.move_to_end(key)
            return found
    if definition is None:
        definition = WorkflowVersion.objects.values_list("definition", flat=True).get(pk=version_id)
    plan = build_plan(definition)
    found = Compiled(
        version_id=version_id,
        content_hash=content_hash,
        definition=definition,
        plan=plan,
        spec=WorkflowSpec.parse(definition),
        reads=outputs_read(plan),
        item_reads={step_id: frozenset(item_reads(step)) for step_id, step in plan.steps.items() if "map" in step},
    )
    with _compiled_lock:
        _compiled[key] = found
        while len(_compiled) > COMPILED_CACHE_SIZE:
            _compiled.popitem(last=False)
    return found


def outputs_read(plan: Plan) -> dict[str, frozenset[str]]:
    return {step_id: frozenset(step_reads(step)) for step_id, step in plan.steps.items()}


def compiled_of(run) -> Compiled:
    """The compiled version of a run loaded with its version (select_related("version"))."""
    return compiled(run.version_id, run.version.content_hash, run.version.definition)


def plan_of(run) -> Plan:
    """The plan of a run loaded with its version (select_related("version"))."""
    return compiled_of(run).plan


def step_queue(step: StepSpec, info) -> str:
    """The queue a step is published to: its own, else its component's, else "default"."""
    return step.queue or (info.queue if info else "") or "default"
