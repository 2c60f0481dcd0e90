"""What an ideal scheduler would make of bench/engine.py's scientific DAG: the floor under its makespan.

    .venv/bin/python bench/dag_schedule.py

List scheduling on 8 slots, no engine: a step starts as soon as a slot is
free and its parents are done, plus `latency` ms from its last parent's end;
it holds its slot for its sleep plus `overhead` ms. Ready steps go in
definition order (FIFO) or longest path to the end first (critical path).
The engine's own makespan / bound is in bench/engine.py's output; this shows
how much of the gap to the bound is the DAG's shape and how much the
per-step cost (docs/performance.md).
"""

import heapq
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import scientific  # noqa: E402

SLOTS = 8


def simulate(dag, overhead: float, latency: float, critical_path_first: bool) -> float:
    children = {step.id: [] for step in dag}
    for step in dag:
        for parent in step.parents:
            children[parent].append(step.id)
    sleep = {step.id: step.sleep_ms for step in dag}
    rank = {}
    for step in reversed(dag):
        rank[step.id] = step.sleep_ms + max((rank[child] for child in children[step.id]), default=0)
    order = {step.id: index for index, step in enumerate(dag)}
    waiting = {step.id: len(set(step.parents)) for step in dag}
    ready = []  # (priority, step id, ready at)

    def make_ready(step_id, at):
        ready.append((-rank[step_id] if critical_path_first else order[step_id], step_id, at))

    make_ready(dag[0].id, 0.0)
    running = []  # heap of (end, step id)
    free, now, done = SLOTS, 0.0, 0
    while done < len(dag):
        startable = sorted(entry for entry in ready if entry[2] <= now)
        for entry in startable[:free]:
            ready.remove(entry)
            heapq.heappush(running, (now + sleep[entry[1]] + overhead, entry[1]))
            free -= 1
        later = [entry[2] for entry in ready if entry[2] > now]
        now = min(([running[0][0]] if running else []) + later)
        while running and running[0][0] <= now:
            end, step_id = heapq.heappop(running)
            free += 1
            done += 1
            for child in children[step_id]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    make_ready(child, end + latency)
    return now


def main():
    dag = scientific.generate()
    bound = max(scientific.critical_path_ms(dag), scientific.total_work_ms(dag) / SLOTS)
    print(f"{scientific.describe(dag)}; bound {bound:.0f} ms on {SLOTS} slots")
    for critical_path_first in (False, True):
        for overhead, latency in ((0, 0), (0, 2), (2.5, 0), (2.5, 2)):
            makespan = simulate(dag, overhead, latency, critical_path_first)
            order = "critical path first" if critical_path_first else "FIFO"
            print(
                f"{order:<20} overhead {overhead:>3} ms, latency {latency} ms: "
                f"{makespan:.0f} ms = {makespan / bound:.2f} x bound"
            )


if __name__ == "__main__":
    main()
