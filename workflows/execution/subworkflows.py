"""Sub-workflows: the child run a `workflow` step starts, and what its end does to the step.

A step written with `workflow` (and maybe `version`) instead of `component`
resolves its inputs like any step, then waits (transitions.wait) while a
child run of that workflow, of the same team, runs with those inputs. The
child is a run of its own (its page, its events, cancellable), linked both
ways: Run.parent_step, and the step's `wait["run"]`. Its end ends the step
(waits.child_finished): its outputs become the step's, its failure the
step's (a retry starts a new child), and cancelling the parent run cancels
the child (runs.cancel_run).
"""

from django.conf import settings

from registry import lookup
from workflows.definitions.format import component_of
from workflows.definitions.spec import StepSpec
from workflows.definitions.validation import validate_inputs
from workflows.execution.attempts import StepFailure
from workflows.execution.messages import ClaimedStep
from workflows.execution.models import Run
from workflows.execution.transitions import Child
from workflows.models import Workflow


def child_for(claimed: ClaimedStep, step: StepSpec, inputs: dict) -> Child:
    """The child run this step is to start, checked: the workflow, its version, its inputs, the depth.

    Raises StepFailure (not retryable: trying again finds the same) when it can't start.
    """
    parent = (
        Run.objects.select_related("workflow").only("depth", "priority", "workflow__team_id").get(pk=claimed.run_id)
    )
    depth = parent.depth + 1
    limit = settings.OAWEB_MAX_WORKFLOW_DEPTH
    if depth > limit:
        raise StepFailure(f"sub-workflows nest deeper than {limit} (OAWEB_MAX_WORKFLOW_DEPTH)", retryable=False)
    workflow = Workflow.objects.filter(team_id=parent.workflow.team_id, slug=step.workflow).first()
    if workflow is None:
        raise StepFailure(f"no workflow `{step.workflow}` in this workflow's team", retryable=False, inputs=inputs)
    if workflow.archived_at is not None:
        raise StepFailure(f"workflow `{step.workflow}` is archived", retryable=False, inputs=inputs)
    label = step.workflow_version
    version = workflow.versions.filter(version=label).first() if label else workflow.latest_version()
    if version is None:
        raise StepFailure(f"workflow `{step.workflow}` has no version `{label}`", retryable=False, inputs=inputs)
    values, issues = validate_inputs(version.definition, inputs)
    if issues:
        problems = "; ".join(f"{issue['path'] or '/'}: {issue['message']}" for issue in issues)
        raise StepFailure(f"inputs of workflow `{step.workflow}`: {problems}", retryable=False, inputs=inputs)
    for child_step in version.definition["steps"]:
        if lookup.usable(component_of(child_step)) is None:
            message = f"workflow `{step.workflow}` calls {component_of(child_step)}, which is unknown or disabled"
            raise StepFailure(message, retryable=False, inputs=inputs)
    return Child(version, values, lookup.components(), parent.priority, depth)
