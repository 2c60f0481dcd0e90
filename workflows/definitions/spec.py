"""A validated definition as typed records: what the engine reads of each step, parsed once per version.

The validator works on the raw JSON (it must describe whatever it is given);
once a definition is valid, the engine reads it through these records
instead of `step.get("retry")` dicts deep in its code.
"""

from dataclasses import dataclass

from workflows.definitions.format import component_of


@dataclass(frozen=True)
class StepSpec:
    id: str
    component: str
    inputs: object  # as written: references are resolved per attempt
    when: str | None = None
    retry: dict | None = None
    timeout: float | None = None
    queue: str | None = None
    priority: int | None = None
    depends_on: tuple[str, ...] = ()
    workflow: str | None = None  # a sub-workflow step: the child's workflow id, and its version label
    workflow_version: str | None = None
    # A map (issue 19): the reference to the list it runs over, how many items may run at
    # once (None: all), and whether items that fail for good leave null instead of failing it.
    map: str | None = None
    concurrency: int | None = None
    allow_failures: bool = False

    @classmethod
    def parse(cls, step: dict) -> "StepSpec":
        return cls(
            id=step["id"],
            component=component_of(step),
            inputs=step.get("inputs", {}),
            when=step.get("when") or None,
            retry=step.get("retry"),
            timeout=step.get("timeout"),
            queue=step.get("queue") or None,
            priority=step.get("priority"),
            depends_on=tuple(step.get("depends_on") or ()),
            workflow=step.get("workflow"),
            workflow_version=step.get("version"),
            map=step.get("map"),
            concurrency=step.get("concurrency"),
            allow_failures=bool(step.get("allow_failures")),
        )


@dataclass(frozen=True)
class WorkflowSpec:
    id: str
    steps: dict[str, StepSpec]  # by id, in definition order
    inputs: dict
    outputs: dict

    @classmethod
    def parse(cls, definition: dict) -> "WorkflowSpec":
        return cls(
            id=definition["id"],
            steps={step["id"]: StepSpec.parse(step) for step in definition["steps"]},
            inputs=definition.get("inputs") or {},
            outputs=definition.get("outputs") or {},
        )
