"""Instructions a validation executes: ten 1,000-step workflows against one 10,000-step one.

    python bench/validation_instructions.py [--shapes chain,layered]

bench/validation.py times validations; on a shared machine those times move
by several percent from run to run, and a workflow that fits the CPU caches
is checked faster per step than one that does not. This counts instead what
the validator does: each case runs under valgrind (cachegrind, which counts
every instruction executed, the same on every run), once generating the
workflows and validating them and once only generating them; the
difference is the validation's. A linear validator executes as many
instructions for one 10,000-step workflow as for ten 1,000-step ones of the
same shape (a little fewer: its fixed cost is paid once). Needs valgrind;
takes a few minutes (Python runs about 50x slower under it).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHAPES = ("chain", "reversed", "fan-out", "layered")  # bench/validation.py's SHAPES; it sets Django up
CASES = ((1_000, 10), (10_000, 1))  # (steps, workflows): the same number of steps in all
INSTRUCTIONS = re.compile(r"I\s+refs:\s+([\d,]+)")


def child(shape: str, size: int, count: int, validating: bool) -> None:
    """Generate `count` workflows of `size` steps; validate each right after it is made, if asked."""
    sys.path.insert(0, str(ROOT))
    from bench import validation as bench  # noqa: PLC0415  (sets Django up: only in the child)

    components = bench.catalog_components()
    generate = bench.SHAPES[shape]
    # Compile the format check, read the contracts and regexes once, as a
    # running server has: both cases then start from the same state.
    bench.validate(generate(50, prefix="warm_"), components=components)
    for number in range(count):
        definition = generate(size, prefix=f"c{number:03d}n{size:06d}_")
        if validating:
            result = bench.validate(definition, components=components)
            if not result["valid"]:
                raise SystemExit(f"generated workflow is invalid: {result['issues'][:3]}")
        del definition


def count_instructions(shape: str, size: int, count: int, validating: bool) -> int:
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        shape,
        str(size),
        str(count),
        "1" if validating else "0",
    ]
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "oaweb.settings", "DEBUG": "true"}
    finished = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=environment, check=False)
    found = INSTRUCTIONS.search(finished.stderr)
    if finished.returncode != 0 or found is None:
        raise SystemExit(f"valgrind failed for {shape} {size}x{count}:\n{finished.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1")
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shapes", default="chain,layered", help="chain, reversed, fan-out, layered (default: chain,layered)"
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    shapes = [shape.strip() for shape in args.shapes.split(",") if shape.strip()]
    unknown = set(shapes) - set(SHAPES)
    if unknown:
        parser.error(f"unknown shapes {sorted(unknown)}; choose from {', '.join(SHAPES)}")
    jobs = [
        (shape, size, count, validating) for shape in shapes for size, count in CASES for validating in (True, False)
    ]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counted = dict(zip(jobs, pool.map(lambda job: count_instructions(*job), jobs), strict=True))

    print(f"{'shape':<10} {'workflows':>16} {'instructions':>14} {'per step':>9}")
    for shape in shapes:
        per_case = {}
        for size, count in CASES:
            instructions = counted[shape, size, count, True] - counted[shape, size, count, False]
            per_case[size] = instructions
            workflows = f"{count} x {size:,} steps"
            per_step = instructions / (size * count)
            print(f"{shape:<10} {workflows:>16} {instructions / 1e6:>13,.1f}M {per_step:>9,.0f}")
        ratio = per_case[10_000] / per_case[1_000]
        print(
            f"{shape:<10} one 10,000-step workflow: {ratio:.4f}x the instructions of ten 1,000-step ones "
            f"(as a 10k/1k ratio: {10 * ratio:.2f})"
        )


if __name__ == "__main__":
    main()
