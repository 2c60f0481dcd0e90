"""A DAG shaped like a scientific workflow, for bench/engine.py.

Pegasus-style workflows (Montage, Epigenomics, CyberShake) are layers of
many short tasks: a stage-in step fans out to parallel tasks, pipelines carry
each item through a few one-to-one stages, aggregation steps join groups of
them, and the joined results fan out again. This module draws such a graph
from a fixed seed, so every run of the benchmark (and every machine) gets
the same 100-250 steps, each sleeping 10-30 ms with 1-5 parents from
earlier layers, and computes the graph's lower bounds on a makespan.
"""

import random
from dataclasses import dataclass

SEED = 20261129
MIN_STEPS, MAX_STEPS = 100, 250
SLEEP_MS = (10, 30)
MAX_PARENTS = 5
FAN_OUT_WIDTH = (12, 36)  # a fan-out layer's width
JOIN_GROUP = (2, 5)  # how many steps of the layer above one aggregation step joins
EXTRA_PARENT = 0.25  # chance that a fan-out or pipeline step also reads an earlier layer's output


@dataclass(frozen=True)
class Step:
    id: str
    layer: int
    parents: tuple[str, ...]
    sleep_ms: int


def generate(seed: int = SEED) -> list[Step]:
    """The steps, layer by layer (so in topological order), from one stage-in step to one stage-out step."""
    rng = random.Random(seed)
    size = rng.randint(MIN_STEPS + 50, MAX_STEPS - 50)  # room for the last layer's overshoot
    layers: list[list[Step]] = [[_step(rng, 0, 0, ())]]  # stage-in
    kind = "fan_out"
    # Once big enough, aggregation layers join everything into one stage-out step.
    while sum(len(layer) for layer in layers) < size or len(layers[-1]) > 1:
        if sum(len(layer) for layer in layers) >= size:
            kind = "join"
        number = len(layers)
        above = [step.id for step in layers[-1]]
        earlier = [step.id for layer in layers[:-1] for step in layer]
        if kind == "fan_out":
            width = rng.randint(*FAN_OUT_WIDTH)
            parent_sets = [[rng.choice(above)] for _ in range(width)]
        elif kind == "pipeline":
            parent_sets = [[parent] for parent in above]
        else:  # join: every step above feeds exactly one aggregation step
            shuffled = rng.sample(above, len(above))
            parent_sets = []
            while shuffled:
                take = min(rng.randint(*JOIN_GROUP), len(shuffled))
                parent_sets.append(shuffled[:take])
                shuffled = shuffled[take:]
        layer = []
        for parents in parent_sets:
            if kind != "join" and earlier and rng.random() < EXTRA_PARENT:
                parents.append(rng.choice(earlier))
            layer.append(_step(rng, number, len(layer), tuple(parents)))
        layers.append(layer)
        kind = _next_kind(rng, kind, len(layer))
    return [step for layer in layers for step in layer]


def _step(rng: random.Random, layer: int, index: int, parents: tuple[str, ...]) -> Step:
    return Step(f"l{layer}_{index}", layer, parents, rng.randint(*SLEEP_MS))


def _next_kind(rng: random.Random, kind: str, width: int) -> str:
    if kind == "join" and width > 1 and rng.random() < 0.3:
        return "join"  # a second aggregation level (a reduction tree)
    if kind == "join":
        return "fan_out"
    if kind == "fan_out":
        return rng.choice(["pipeline", "join"])
    return rng.choice(["pipeline", "join", "join"])


def definition(steps: list[Step], slug: str) -> dict:
    """The oaweb workflow: one core.sleep step per Step."""
    return {
        "id": slug,
        "steps": [
            {
                "id": step.id,
                "component": "core.sleep",
                "inputs": {"seconds": step.sleep_ms / 1000},
                **({"depends_on": list(step.parents)} if step.parents else {}),
            }
            for step in steps
        ],
    }


def critical_path_ms(steps: list[Step]) -> int:
    """The longest chain of sleeps: no number of workers finishes sooner."""
    finish: dict[str, int] = {}
    for step in steps:
        finish[step.id] = step.sleep_ms + max((finish[parent] for parent in step.parents), default=0)
    return max(finish.values())


def total_work_ms(steps: list[Step]) -> int:
    return sum(step.sleep_ms for step in steps)


def describe(steps: list[Step]) -> str:
    layers = max(step.layer for step in steps) + 1
    edges = sum(len(step.parents) for step in steps)
    widths = [sum(1 for step in steps if step.layer == n) for n in range(layers)]
    return f"{len(steps)} steps, {edges} edges, {layers} layers (widths {'/'.join(map(str, widths))})"


def check(steps: list[Step]) -> None:
    """The shape the benchmark promises; a changed generator must keep it."""
    if not MIN_STEPS <= len(steps) <= MAX_STEPS:
        raise ValueError(f"{len(steps)} steps, outside {MIN_STEPS}-{MAX_STEPS}")
    for step in steps:
        if step.layer and not 1 <= len(step.parents) <= MAX_PARENTS:
            raise ValueError(f"{step.id} has {len(step.parents)} parents")
