"""The step graph: who depends on whom, in what order steps can run, cycles.

A step depends on the steps named in its `depends_on`, on the steps its
inputs reference, and on the steps its `when` condition references. Every
function here is linear in steps + edges (the validator and the engine run
them on every definition), and none recurses, so a long chain can't overflow
Python's stack.
"""

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from workflows.definitions.conditions import ConditionError, parse_condition
from workflows.definitions.references import STEPS, find_references


class CycleError(Exception):
    def __init__(self, cycle: list[str]):
        self.cycle = cycle
        super().__init__(f"steps form a cycle: {describe_cycle(cycle)}")


@dataclass
class Plan:
    steps: dict[str, dict]  # id -> step, in definition order
    order: list[str]  # topological: every step after all its parents
    parents: dict[str, frozenset[str]]
    children: dict[str, tuple[str, ...]]  # in definition order
    roots: tuple[str, ...]  # steps without parents, in definition order


def describe_cycle(cycle: list[str]) -> str:
    """`a → b → a`: each step feeds the next, the last feeds the first."""
    return " → ".join([*cycle, cycle[0]]) if cycle else ""


def step_parents(step: dict) -> set[str]:
    """Ids of the steps `step` depends on: depends_on ∪ the steps it reads (step_reads).

    Tolerates malformed parts (the validator reports those): a non-list
    depends_on or an unparsable `when` adds nothing.
    """
    parents = step_reads(step)
    depends_on = step.get("depends_on")
    if isinstance(depends_on, list):
        parents.update(item for item in depends_on if isinstance(item, str))
    return parents


def step_reads(step: dict) -> set[str]:
    """Ids of the steps whose outputs `step` reads: step references in its inputs, its `when` and its `map`.

    The engine fetches only these parents' outputs (depends_on only orders).
    """
    reads = item_reads(step)
    reads.update(reference.name for reference, _ in find_references(step.get("map")) if reference.source == STEPS)
    when = step.get("when")
    if isinstance(when, str):
        try:
            condition = parse_condition(when)
        except ConditionError:
            pass
        else:
            reads.update(reference.name for reference in condition.references if reference.source == STEPS)
    return reads


def item_reads(step: dict) -> set[str]:
    """Ids of the steps whose outputs each item of a map reads: those its inputs reference.

    Not the list's own step (each item gets its value), nor `when`'s (the map as a whole decides).
    """
    return {reference.name for reference, _ in find_references(step.get("inputs")) if reference.source == STEPS}


def build_plan(definition: dict) -> Plan:
    """The plan of a validated definition (unique ids, known references).

    Raises CycleError if the steps can't be ordered.
    """
    steps = {step["id"]: step for step in definition["steps"]}
    parents = {step_id: frozenset(p for p in step_parents(step) if p in steps) for step_id, step in steps.items()}
    children_lists: dict[str, list[str]] = {step_id: [] for step_id in steps}
    for step_id, step_parent_ids in parents.items():
        for parent in step_parent_ids:
            children_lists[parent].append(step_id)
    children = {step_id: tuple(kids) for step_id, kids in children_lists.items()}
    roots = tuple(step_id for step_id in steps if not parents[step_id])
    order = _topological_order(steps, parents, children, roots)
    if len(order) < len(steps):
        raise CycleError(find_cycle({step_id: set(p) for step_id, p in parents.items()}) or [])
    return Plan(steps=steps, order=order, parents=parents, children=children, roots=roots)


def _topological_order(steps, parents, children, roots) -> list[str]:
    """Kahn's algorithm; steps left out of the result are on or behind a cycle."""
    waiting = {step_id: len(parents[step_id]) for step_id in steps}
    ready = deque(roots)
    order = []
    while ready:
        step_id = ready.popleft()
        order.append(step_id)
        for child in children[step_id]:
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return order


def strongly_connected(parents: Sequence[Sequence[int]]) -> list[list[int]]:
    """Tarjan's strongly connected components of nodes 0..n-1, iteratively.

    `parents[node]` lists the nodes it has an edge to; edges out of range are
    ignored. Nodes are list positions, not names: plain lists indexed by
    number keep a 10,000-step search in step with a 1,000-step one, where
    dicts keyed by step id fell out of the CPU caches (bench/validation.py).
    """
    size = len(parents)
    index = [-1] * size
    low = [0] * size
    on_stack = bytearray(size)
    stack: list[int] = []
    components: list[list[int]] = []
    visited = 0
    for root in range(size):
        if index[root] >= 0:
            continue
        index[root] = low[root] = visited
        visited += 1
        stack.append(root)
        on_stack[root] = 1
        work = [(root, iter(parents[root]))]
        while work:
            node, edges = work[-1]
            descended = False
            for target in edges:
                if not 0 <= target < size:
                    continue
                if index[target] < 0:
                    index[target] = low[target] = visited
                    visited += 1
                    stack.append(target)
                    on_stack[target] = 1
                    work.append((target, iter(parents[target])))
                    descended = True
                    break
                if on_stack[target] and index[target] < low[node]:
                    low[node] = index[target]
            if descended:
                continue
            work.pop()
            if work:
                caller = work[-1][0]
                if low[node] < low[caller]:
                    low[caller] = low[node]
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = 0
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


def find_index_cycles(parents: Sequence[Sequence[int]]) -> list[list[int]]:
    """One cycle for each group of nodes that depend on each other in a circle.

    Nodes are 0..n-1 and `parents[node]` the nodes it depends on. Each cycle
    is listed in run order: every node feeds the next and the last feeds the
    first. Linear time: Tarjan, then one walk inside each group.
    """
    cycles = []
    for component in strongly_connected(parents):
        start = component[-1]  # Tarjan's first-visited member of the group
        if len(component) == 1 and start not in parents[start]:
            continue
        cycles.append(_walk_cycle(start, set(component), parents))
    return cycles


def _walk_cycle(start: int, members: set[int], parents: Sequence[Sequence[int]]) -> list[int]:
    # Inside a strongly connected group every node has a parent in the group,
    # so following parents never dead-ends and must come back to a node seen.
    position: dict[int, int] = {}
    path: list[int] = []
    node = start
    while node not in position:
        position[node] = len(path)
        path.append(node)
        node = min(parent for parent in parents[node] if parent in members)  # min: the same cycle every run
    cycle = path[position[node] :]  # each depends on the next
    cycle.reverse()
    return cycle


def find_cycles(parents: dict[str, Iterable[str]]) -> list[list[str]]:
    """find_index_cycles for steps named by id; edges to unknown steps are ignored.

    Steps are numbered in the dict's order, so the cycle reported in a tangle
    is the same every run.
    """
    ids = list(parents)
    number = {step_id: position for position, step_id in enumerate(ids)}
    graph = [[number[parent] for parent in parents[step_id] if parent in number] for step_id in ids]
    return [[ids[node] for node in cycle] for cycle in find_index_cycles(graph)]


def find_cycle(parents: dict[str, set[str]]) -> list[str] | None:
    """The steps on one cycle in run order, or None if there is none."""
    cycles = find_cycles(parents)
    return cycles[0] if cycles else None


def descendants(plan: Plan, step_id: str) -> set[str]:
    """Every step that depends on `step_id`, directly or not."""
    found: set[str] = set()
    queue = deque(plan.children.get(step_id, ()))
    while queue:
        child = queue.popleft()
        if child not in found:
            found.add(child)
            queue.extend(plan.children[child])
    return found
