"""How long validating a workflow takes, by shape and size.

    python bench/validation.py [--repeat N]

Generates chains (also written backwards, which makes the validator run its
full cycle search: steps that only read earlier steps can't form a cycle),
wide fan-outs (with a fan-in join) and layered DAGs (20 layers, about 3
edges per step) of 1,000, 10,000 and 50,000 steps, plus one 2,000-step,
~6,000-edge DAG to compare with the 50 ms target, and prints the best time of
N runs. Components come from the in-code catalog (no database) and are passed
explicitly, which bypasses the result cache; every run also gets a workflow
with its own step ids, so no smaller cache (parsed references) is warm
either: the figures are for a definition never seen before.
Every size holds the same mix of steps, so 10x the steps is 10x the work of
a linear validator: step ids are numbered with a fixed number of digits
(`s00042`; with plain numbers the ids grew with the size, and the
10,000-step definitions were 10.2-10.4x the bytes of the 1,000-step ones;
the bytes/step column shows it), and layered DAGs have as many layers at
every size (see layered()).
Linear time shows as a flat µs/step column and a 10k/1k ratio near 10; the
ratio of json.dumps over the same workflows is printed beside it, as a
yardstick for what a linear walk costs here once data outgrows CPU caches.
"""

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oaweb.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from registry.catalog import CATALOG, discover  # noqa: E402
from registry.lookup import ComponentInfo  # noqa: E402
from workflows.definitions.validation import validate  # noqa: E402

SIZES = (1_000, 10_000, 50_000)
DIGITS = len(str(max(SIZES)))  # every step number is written with this many digits
LAYERS = 20
TARGET_MS = 50.0


def catalog_components() -> dict[str, ComponentInfo]:
    discover()
    return {
        name: ComponentInfo(
            name=spec.name,
            version=spec.version,
            kind=spec.kind,
            input_schema=spec.input_schema,
            output_schema=spec.output_schema,
            entrypoint=spec.entrypoint,
            is_class=spec.is_class,
            queue=spec.queue,
            timeout=spec.timeout,
            retry=spec.retry,
            rate_limit=spec.rate_limit,
            enabled=True,
        )
        for name, spec in CATALOG.items()
    }


def template_step(step_id: str, parents: list[str]) -> dict:
    """A text.template step reading the `text` output of each parent."""
    values = {f"p{number}": f"{{{{ steps.{parent}.outputs.text }}}}" for number, parent in enumerate(parents)}
    return {
        "id": step_id,
        "component": "text.template",
        "inputs": {"template": "{{ inputs.greeting }} from " + step_id, "values": values},
    }


def workflow(slug: str, steps: list[dict]) -> dict:
    last = steps[-1]["id"]
    return {
        "id": slug,
        "name": slug,
        "version": "1.0.0",
        "inputs": {"greeting": {"type": "string", "default": "hi"}},
        "steps": steps,
        "outputs": {"text": f"{{{{ steps.{last}.outputs.text }}}}"},
    }


def number(value: int) -> str:
    return f"{value:0{DIGITS}d}"


def chain(size: int, prefix: str = "") -> dict:
    ids = [f"{prefix}s{number(i)}" for i in range(size)]
    steps = [template_step(ids[0], [])]
    steps += [template_step(ids[i], [ids[i - 1]]) for i in range(1, size)]
    return workflow("chain", steps)


def reversed_chain(size: int, prefix: str = "") -> dict:
    """A chain written last step first: not in run order, so the full cycle search runs."""
    definition = chain(size, prefix)
    definition["steps"].reverse()
    return definition


def fan_out(size: int, prefix: str = "") -> dict:
    """One root, size - 2 branches reading it, one join that depends on every branch."""
    root = f"{prefix}root"
    branches = [template_step(f"{prefix}b{number(i)}", [root]) for i in range(size - 2)]
    join = {"id": f"{prefix}join", "component": "core.noop", "depends_on": [step["id"] for step in branches]}
    return workflow("fan-out", [template_step(root, []), *branches, join])


def layered(size: int, prefix: str = "", width: int | None = None, fan_in: int = 3, seed: int = 1) -> dict:
    """Layers of `width` steps; each step reads `fan_in` steps of the layer before.

    By default there are LAYERS layers at every size, so 10x the steps is
    also 10x the edges; with layers of a fixed width the first layer (which
    reads nothing) was 5 % of 1,000 steps but 0.5 % of 10,000, and the larger
    DAG had 10.5x the edges of the smaller one.
    """
    width = width or max(1, size // LAYERS)
    rng = random.Random(seed)
    steps = []
    previous: list[str] = []
    for start in range(0, size, width):
        layer = [f"{prefix}l{number(start // width)}_{number(i)}" for i in range(min(width, size - start))]
        for step_id in layer:
            parents = rng.sample(previous, min(fan_in, len(previous))) if previous else []
            steps.append(template_step(step_id, parents))
        previous = layer
    return workflow("layered", steps)


def count_edges(definition: dict) -> int:
    edges = 0
    for step in definition["steps"]:
        edges += len(step.get("depends_on", ())) + len(step.get("inputs", {}).get("values", {}))
    return edges


def best_ms(
    generate, sizes: tuple[int, ...], components: dict, repeat: int
) -> dict[int, tuple[float, int, float, int]]:
    """For each size: best times of `repeat` runs (validate, json.dumps, in ms), edges and JSON bytes.

    Every run is a freshly generated workflow. The sizes take turns within
    each round, so a ratio between two sizes compares runs made under the
    same load on this shared machine, not a quiet minute with a busy one.
    The largest size runs in every other round only (it takes the longest).
    json.dumps (a C walk over the same objects, certainly linear) is the
    yardstick: on this machine even it often takes more than 10x as long for
    10x the steps, as larger data falls out of the CPU caches.
    """
    best = dict.fromkeys(sizes, float("inf"))
    best_dumps = dict.fromkeys(sizes, float("inf"))
    edges = {}
    json_bytes = {}
    for run in range(repeat):
        for size in sizes:
            if size == max(sizes) and len(sizes) > 1 and run % 2:
                continue
            # The prefix names the size too: a 10,000-step chain would otherwise
            # begin with the 1,000-step one's ids and find its references parsed.
            definition = generate(size, prefix=f"r{run:03d}n{size:06d}_")
            started = time.perf_counter()
            result = validate(definition, components=components)
            best[size] = min(best[size], time.perf_counter() - started)
            if not result["valid"]:
                raise SystemExit(f"generated workflow is invalid: {result['issues'][:3]}")
            definition = generate(size, prefix=f"d{run:03d}n{size:06d}_")
            started = time.perf_counter()
            text = json.dumps(definition)
            best_dumps[size] = min(best_dumps[size], time.perf_counter() - started)
            edges[size] = count_edges(definition)
            json_bytes[size] = len(text)
    return {size: (best[size] * 1000, edges[size], best_dumps[size] * 1000, json_bytes[size]) for size in sizes}


# The shapes compared across sizes, by name (bench/validation_instructions.py too).
SHAPES = {"chain": chain, "reversed": reversed_chain, "fan-out": fan_out, "layered": layered}


def dag_2000(size: int, prefix: str = "") -> dict:
    """The 50 ms target's shape: 2,000 steps, each but the first ten reading 3 others."""
    return layered(size, prefix=prefix, width=10, fan_in=3)


def row(shape: str, steps: int, edges: int, json_bytes: int, ms: float) -> str:
    return f"{shape:<10} {steps:>7,} {edges:>8,} {json_bytes / steps:>10.1f} {ms:>10.1f} {ms * 1000 / steps:>8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs per case; the best is shown (default 10)")
    args = parser.parse_args()
    components = catalog_components()

    print(f"{'shape':<10} {'steps':>7} {'edges':>8} {'bytes/step':>10} {'ms (best)':>10} {'µs/step':>8}")
    target_ms, target_edges, _, target_bytes = best_ms(dag_2000, (2_000,), components, max(args.repeat, 10))[2_000]
    print(row("dag", 2_000, target_edges, target_bytes, target_ms))
    by_shape: dict[str, dict[int, float]] = {}
    dumps_by_shape: dict[str, dict[int, float]] = {}
    for shape, generate in SHAPES.items():
        for size, (ms, edges, dumps_ms, json_bytes) in best_ms(generate, SIZES, components, args.repeat).items():
            by_shape.setdefault(shape, {})[size] = ms
            dumps_by_shape.setdefault(shape, {})[size] = dumps_ms
            print(row(shape, size, edges, json_bytes, ms))

    print()
    verdict = "under" if target_ms < TARGET_MS else "OVER"
    print(f"2,000 steps / {target_edges:,} edges: {target_ms:.1f} ms ({verdict} the {TARGET_MS:.0f} ms target)")
    for shape, times in by_shape.items():
        dumps = dumps_by_shape[shape]
        print(
            f"{shape:<10} 10k/1k ratio: {times[10_000] / times[1_000]:.2f} "
            f"(json.dumps of the same workflows: {dumps[10_000] / dumps[1_000]:.2f})"
        )


if __name__ == "__main__":
    main()
