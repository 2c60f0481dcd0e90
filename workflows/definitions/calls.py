"""Checks of the steps that run another workflow (`workflow` instead of `component`).

They need the other workflows, so they run when a definition is saved for a
team (workflows/services.py), given `find(slug, version label or None)`: the
callee's definition, or None. Pure otherwise: no database here.

Codes: unknown_workflow (no such workflow, or no such version, in the
team), missing_workflow_input (the callee declares an input with no
default that the step doesn't give), workflow_cycle (the definition runs
itself, directly or through the workflows it runs).
"""

from collections.abc import Callable

from workflows.definitions.issues import Issue, make_issue

Find = Callable[[str, str | None], dict | None]


def check_calls(definition: dict, find: Find) -> list[Issue]:
    issues = []
    for index, step in enumerate(definition.get("steps") or []):
        if isinstance(step, dict) and isinstance(step.get("workflow"), str):
            issues.extend(_check_call(definition, f"/steps/{index}", step, find))
    return issues


def _check_call(definition: dict, base: str, step: dict, find: Find) -> list[Issue]:
    slug, label = step["workflow"], step.get("version")
    if slug == definition.get("id"):
        return [make_issue("workflow_cycle", f"step `{step.get('id')}` runs this workflow itself", f"{base}/workflow")]
    callee = find(slug, label)
    if callee is None:
        what = f"version `{label}` of workflow `{slug}`" if label else f"workflow `{slug}`"
        return [make_issue("unknown_workflow", f"no {what} in this team", f"{base}/workflow")]
    issues = [
        make_issue(
            "missing_workflow_input",
            f"workflow `{slug}` needs the input `{name}`, which this step doesn't give",
            f"{base}/inputs",
            f'add "{name}" to the step\'s inputs',
        )
        for name in _required_inputs(callee)
        if name not in (step.get("inputs") or {})
    ]
    through = _path_back(definition.get("id"), slug, find)
    if through:
        chain = " → ".join(f"`{name}`" for name in [definition.get("id"), *through])
        issues.append(make_issue("workflow_cycle", f"runs itself through {chain}", f"{base}/workflow"))
    return issues


def _required_inputs(callee: dict) -> list[str]:
    declared = callee.get("inputs") or {}
    return [name for name, schema in declared.items() if not (isinstance(schema, dict) and "default" in schema)]


def _path_back(home: str, start: str, find: Find, limit: int = 1000) -> list[str]:
    """The chain of workflows from `start` that runs `home` again (their latest versions), or []."""
    paths = {start: [start]}
    queue = [start]
    while queue and len(paths) < limit:
        slug = queue.pop(0)
        for step in (find(slug, None) or {}).get("steps") or []:
            callee = step.get("workflow") if isinstance(step, dict) else None
            if not isinstance(callee, str):
                continue
            if callee == home:
                return [*paths[slug], home]
            if callee not in paths:
                paths[callee] = [*paths[slug], callee]
                queue.append(callee)
    return []
