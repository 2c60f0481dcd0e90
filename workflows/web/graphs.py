"""The step graph as the DAG picture wants it (static/oaweb/dag.js draws it).

Shared by the workflow page and the run page: both include
templates/workflows/_dag.html with `graph=dag_json(...)`.
"""

import json

from registry import lookup
from workflows.definitions.format import SUBWORKFLOW_COMPONENT, component_of
from workflows.definitions.graph import step_parents
from workflows.execution.wait_specs import WAITING_COMPONENTS

NO_STATUS = ""
NO_KIND = ""  # a component the registry doesn't know (yet): drawn without a kind


def component_kinds() -> dict[str, str]:
    """Each registered component's kind (agent, tool, transform), from the registry's cached lookup."""
    return {name: info.kind for name, info in lookup.components().items()}


def dag_json(definition: dict, statuses: dict[str, str] | None = None) -> str:
    """`{"nodes": [{"id", "component", "kind", "status"[, "map"]}], "edges": [[from, to], ...]}` as JSON text.

    Edges are the graph's own (workflows.definitions.graph.step_parents: depends_on and
    the step references in inputs and `when`), so the picture and the engine
    never disagree. Tolerates an invalid definition (it is drawn while being
    edited): malformed steps, self-references and references to unknown
    steps are left out.
    The template embeds the text with `json_script`, which escapes `<`.
    """
    statuses = statuses or {}
    steps = definition.get("steps") if isinstance(definition, dict) else None
    steps = [step for step in steps if isinstance(step, dict)] if isinstance(steps, list) else []
    kinds = component_kinds()
    nodes = []
    known: set[str] = set()
    for step in steps:
        step_id = step.get("id")
        if not isinstance(step_id, str) or step_id in known:
            continue
        known.add(step_id)
        component = component_of(step)
        component = component if isinstance(component, str) else ""
        kind = kinds.get(component, NO_KIND)
        if component == SUBWORKFLOW_COMPONENT:  # named by the workflow it runs
            component = f"workflow {step['workflow']}"
        node = {"id": step_id, "component": component, "kind": kind, "status": statuses.get(step_id, NO_STATUS)}
        if "map" in step:  # drawn as a stack: one node for all its items
            node["map"] = True
        nodes.append(node)
    edges = []
    seen: set[str] = set()
    for step in steps:
        step_id = step.get("id")
        if not isinstance(step_id, str) or step_id in seen:
            continue
        seen.add(step_id)
        # (parents & known) first: `known - {step_id}` would copy the whole set for every step.
        parents = sorted((step_parents(step) & known) - {step_id})
        edges.extend([parent, step_id] for parent in parents)
    return json.dumps({"nodes": nodes, "edges": edges}, ensure_ascii=False, separators=(",", ":"))


def plan_graph(plan, statuses: dict[str, str] | None = None, states: dict[str, dict] | None = None) -> dict:
    """The graph of a compiled plan (workflows.execution.runs.compiled): a run's, without re-reading its definition.

    A dict, not JSON text, so `json_script` encodes it once: a 2,000-step
    graph as a JSON string inside JSON would cost the page a fifth more.
    One node per step of the definition: a map is one node (`"map": true`),
    however many items it has. A map, and a step that may wait (a waiting
    component, a sub-workflow), is drawn taller (`"waits": true`), with room
    for its counts or what it waits for: `states` (live.node_state) fills them.
    """
    statuses = statuses or {}
    states = states or {}
    kinds = component_kinds()
    nodes = []
    for step_id, step in plan.steps.items():
        component = component_of(step) or ""
        node = {
            "id": step_id,
            "component": f"workflow {step['workflow']}" if component == SUBWORKFLOW_COMPONENT else component,
            "kind": kinds.get(component, NO_KIND),
            "status": statuses.get(step_id, NO_STATUS),
        }
        if "map" in step:
            node["map"] = True
        elif component in WAITING_COMPONENTS:
            node["waits"] = True
        node.update(states.get(step_id, {}))
        nodes.append(node)
    edges = [[parent, step_id] for step_id in plan.steps for parent in sorted(plan.parents[step_id])]
    return {"nodes": nodes, "edges": edges}
