"""The checks of steps: ids, components, references, dependencies and conditions, and the workflow's outputs.

A map step's own checks (its list, `{{ item }}`, its outputs) are in map_checks.py.
"""

from workflows.definitions.conditions import ConditionError, parse_condition
from workflows.definitions.format import component_of
from workflows.definitions.issues import shown
from workflows.definitions.map_checks import IN_OUTPUTS, IN_WHEN, ITEM_SOURCES, NOT_A_MAP, MapContract, Outside
from workflows.definitions.parsing import too_deep
from workflows.definitions.references import (
    INPUTS,
    SECRETS,
    NestingError,
    Place,
    Reference,
    escape_pointer,
    place_pointer,
    scan_references,
)

# How deep a step's inputs (/steps/N/inputs) sit, the definition being level 1:
# the format allows any value there, so this check watches the depth itself.
STEP_INPUTS_DEPTH = 3

REFERENCE_HELP = (
    "write {{ inputs.NAME }}, {{ steps.ID.outputs.NAME }}, {{ secrets.NAME }} or (in a map's inputs) {{ item }}, "
    "optionally followed by .key parts"
)


class StepChecks:
    """The checker's checks of steps and outputs (state: validation._Checker)."""

    def index_steps(self, steps: list) -> None:
        count = len(steps)
        step_index = self.step_index
        step_ids = self.step_ids = [None] * count
        step_contracts = self.step_contracts = [None] * count
        self.parents = [()] * count
        for index, step in enumerate(steps):
            if not isinstance(step, dict):
                continue
            step_id = step.get("id")
            if not isinstance(step_id, str):
                continue
            first = step_index.setdefault(step_id, index)
            if first != index:
                self.add(
                    "duplicate_step_id",
                    f"step id `{step_id}` is already used by the step at /steps/{first}",
                    f"/steps/{index}/id",
                    "give every step its own id",
                )
                continue
            step_ids[index] = step_id
            name = component_of(step)
            if isinstance(name, str):
                step_contracts[index] = self.contract(name)
            if "map" in step:  # its outputs are the map's: `results` and `errors`
                step_contracts[index] = MapContract(step_contracts[index], name, step.get("allow_failures") is True)

    def check_step(self, index: int, step: dict) -> None:
        base = f"/steps/{index}"
        parents: list[int] = []
        self.check_callee(base, step)
        info = self.check_component(base, component_of(step))
        self.item_schema = self.check_map(base, index, step, parents)

        inputs = step.get("inputs", {})
        if isinstance(inputs, dict):
            try:
                found, malformed = scan_references(inputs, f"{base}/inputs", self.max_depth - STEP_INPUTS_DEPTH)
            except NestingError:
                self.issues.append(too_deep(f"{base}/inputs"))
            else:
                outside = None if self.item_schema is not None else NOT_A_MAP
                self.check_references(found, malformed, index, parents, in_step_inputs=True, outside=outside)
                if info is not None:
                    self.check_component_inputs(base, step, inputs, self.contract(component_of(step)))

        depends_on = step.get("depends_on")
        if isinstance(depends_on, list):
            self.check_depends_on(base, index, depends_on, parents)

        when = step.get("when")
        if isinstance(when, str):
            try:
                condition = parse_condition(when)
            except ConditionError as exc:
                self.add("invalid_condition", f"`when` does not parse: {exc}", f"{base}/when")
            else:
                found = [(ref, (base, "when")) for ref in condition.references]
                self.check_references(found, [], index, parents, outside=IN_WHEN)

        if parents and self.step_ids[index] is not None:
            self.parents[index] = parents
        self.item_schema = None

    def check_depends_on(self, base: str, index: int, depends_on: list, parents: list[int]) -> None:
        for position, parent in enumerate(depends_on):
            if not isinstance(parent, str):
                continue
            parent_index = self.step_index.get(parent)
            if parent_index is not None:
                parents.append(parent_index)
                if parent_index >= index:
                    self.in_order = False
            else:
                self.add(
                    "unknown_reference",
                    f"depends on `{parent}`, but there is no step `{parent}`",
                    f"{base}/depends_on/{position}",
                    self.suggest(parent, "step"),
                )

    def check_callee(self, base: str, step: dict) -> None:
        """A step calls one thing: a component, or a workflow (`version` only with `workflow`)."""
        has_component, has_workflow = "component" in step, "workflow" in step
        if not has_component and not has_workflow:
            # As the format's schema said when `component` was always required.
            self.add("schema", "'component' is a required property (or 'workflow', to run another workflow)", base)
        elif has_component and has_workflow:
            self.add(
                "component_and_workflow",
                "a step calls a component or runs a workflow, not both",
                f"{base}/workflow",
                "keep `component`, or `workflow` (with `version` if need be)",
            )
        if "version" in step and not has_workflow:
            message = "`version` names a workflow's version: add `workflow`"
            self.add("version_without_workflow", message, f"{base}/version")

    def check_component(self, base: str, name):
        if not isinstance(name, str):
            return None
        info = self.components.get(name)
        if info is None:
            self.add(
                "unknown_component",
                f"no component `{name}` in the registry",
                f"{base}/component",
                self.suggest(name, "component"),
            )
            return None
        if not getattr(info, "enabled", True):
            self.add(
                "disabled_component",
                f"component `{name}` is disabled",
                f"{base}/component",
                "enable it in the admin, or use another component",
            )
        return info

    def check_references(
        self,
        found,
        malformed,
        index: int | None,
        parents: list[int] | None,
        in_step_inputs: bool = False,
        outside: Outside | None = NOT_A_MAP,
    ) -> None:
        """Check references made by the step at `index` into `parents` (None, None: the workflow's outputs).

        `outside`: why `{{ item }}` and `{{ index }}` can't be read here; None in a map's inputs.
        """
        for text, place in malformed:
            self.add("unknown_reference", f"{shown(text)} is not a reference", place_pointer(place), REFERENCE_HELP)
        for reference, place in found:
            if reference.source == SECRETS:  # issue 20: credentials (secret_checks.py)
                self.check_secret(reference, place, in_step_inputs)
                continue
            if reference.source in ITEM_SOURCES:  # issue 19: a map's item (map_checks.py)
                self.check_item_reference(reference, place, outside)
                continue
            parent = self.check_reference(reference, place)
            if parent is not None and index is not None:
                parents.append(parent)
                if parent >= index:
                    self.in_order = False

    def check_reference(self, reference: Reference, place: Place) -> int | None:
        """Report a reference to nothing; the index of the step it reads, if any."""
        if reference.source == INPUTS:
            if reference.name in self.declared_inputs:
                return None
            self.add(
                "unknown_reference",
                f"`{reference.text}`: the workflow declares no input `{reference.name}`",
                place_pointer(place),
                self.suggest(reference.name, "input", list(self.declared_inputs))
                or f"declare it under /inputs/{escape_pointer(reference.name)}",
            )
            return None
        parent = self.step_index.get(reference.name)
        if parent is None:
            self.add(
                "unknown_reference",
                f"`{reference.text}`: there is no step `{reference.name}`",
                place_pointer(place),
                self.suggest(reference.name, "step"),
            )
            return None
        contract = self.step_contracts[parent]
        outputs = contract.outputs if contract is not None else None
        if outputs is not None and reference.output not in outputs:
            if isinstance(contract, MapContract):
                self.report_map_output(reference, place)
                return parent
            component = contract.name or "its component"
            declared = ", ".join(f"`{name}`" for name in outputs) or "none"
            self.add(
                "unknown_reference",
                f"`{reference.text}`: step `{reference.name}` ({component}) has no output "
                f"`{reference.output}` (outputs: {declared})",
                place_pointer(place),
                self.suggest(reference.output, "output", list(outputs)),
            )
        return parent

    def check_outputs(self) -> None:
        outputs = self.definition.get("outputs")
        if not isinstance(outputs, dict):
            return
        for name, value in outputs.items():
            if isinstance(value, str):
                found, malformed = scan_references(value, f"/outputs/{escape_pointer(name)}")
                self.check_references(found, malformed, None, None, outside=IN_OUTPUTS)
