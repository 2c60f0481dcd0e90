"""The actions people take, each written once.

A door (a web page, the API, a management command, the admin) reads its own
input, calls one function here, and turns the answer or the refusal into its
own kind of reply: a page, a status code, an exit code. The rules live here,
so a rule changed here changes for every door at once.

    save_definition(definition or Source(text), user, team=None, workflow=None, author=...) -> SaveResult
    start(target, inputs, ...), cancel(run), rerun(run, ...)   (workflows/execution/runs.py)
    cancel_many(runs) -> the runs cancelled
    archive(workflow), unarchive(workflow), delete_workflow(workflow)
    decide(step, approved, by, comment), post_event(run, name, payload)   (waiting steps: execution/waits.py)

A refusal is a DefinitionRefused, a WorkflowRefused (or the engine's
RunRefused): never an HTTP error, which only views raise.
"""

import json
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError

from workflows.audit.models import record
from workflows.credentials import resolution as credentials
from workflows.definitions.calls import check_calls
from workflows.definitions.validation import Issue, make_issue, parse_definition, validate
from workflows.execution import runs as _runs
from workflows.execution import waits as _waits
from workflows.execution.connections import retrying
from workflows.models import Team, TeamChoiceError, Workflow, WorkflowVersion

# The engine's actions need no more than their own checks: the doors call them through here.
RunRefused = _runs.RunRefused
WorkflowArchived = _runs.WorkflowArchived  # a RunRefused: the workflow is archived
# start, cancel and rerun: the engine's, each recorded in the audit log (issue 20, at the end of this module).

# DefinitionRefused.code
INVALID = "invalid"  # the definition doesn't validate (or the text doesn't parse)
ID_MISMATCH = "id_mismatch"  # a version of one workflow names another id
TAKEN = "taken"  # the id is another team's workflow
TEAM = "team"  # no team fits a new workflow


class DefinitionRefused(Exception):
    """A definition that can't be saved; nothing was stored.

    code: INVALID, ID_MISMATCH, TAKEN or TEAM (a door may map the ones it
    knows to its own answer, and must answer any other code as a bad input).
    issues: validation issues as dicts ({code, severity, message, path,
    suggestion}), the validator's for INVALID, else one describing the rule
    refused; an Issue given (make_issue) is kept as its dict.
    result: {"valid": False, "issues": ...}, the validator's own for INVALID.
    parsed: False when the source text didn't even parse.
    workflow: the workflow already holding the id (TAKEN), else None.
    """

    def __init__(
        self,
        code: str,
        message: str,
        issues: list[dict | Issue],
        result: dict | None = None,
        parsed: bool = True,
        workflow: Workflow | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        issues = [issue.as_dict() if isinstance(issue, Issue) else issue for issue in issues]
        self.issues = issues
        self.result = result if result is not None else {"valid": False, "issues": issues}
        self.parsed = parsed
        self.workflow = workflow


@dataclass(frozen=True)
class Source:
    """A definition's JSON text (str or bytes), still to be parsed.

    A door holding text wraps it, so that a JSON string given where a
    definition belongs (an API body's "definition": "...") stays a string.
    """

    text: str | bytes


@dataclass(frozen=True)
class SaveResult:
    version: WorkflowVersion
    created: bool  # False: identical content was there already; nothing was stored
    new_workflow: bool  # the workflow itself was created
    definition: dict  # as given (its `version` may differ from the stored label)

    @property
    def workflow(self) -> Workflow:
        return self.version.workflow


# --- saving a definition -------------------------------------------------------------


def check_definition(definition_or_source) -> tuple[dict, list[dict]]:
    """(definition, its issues: warnings only) or DefinitionRefused(INVALID).

    `definition_or_source` is a parsed definition (any JSON value), or a Source.
    """
    definition, parsed = definition_or_source, True
    if isinstance(definition_or_source, Source):
        definition, issues = parse_definition(definition_or_source.text)
        if issues:
            raise DefinitionRefused(INVALID, "the definition is not valid JSON", issues, parsed=False)
    result = validate(definition)
    if not result["valid"]:
        raise DefinitionRefused(INVALID, "the definition is invalid", result["issues"], result=result, parsed=parsed)
    return definition, result["issues"]


def save_definition(
    definition_or_source,
    user,
    team: Team | str | None = None,
    *,
    workflow: Workflow | None = None,
    author=None,
) -> SaveResult:
    """Validate a definition and store it: a new workflow, or a new version of its id's workflow.

    user: who saves it, or None for the operator at the command line, who may
    write to any team.
    team: the team (or its name) a new workflow goes to; by default the
    user's only team (Team.for_new_workflow), the operator's default team.
    It doesn't move an existing workflow. An operator who names a team may
    only add versions to that team's workflows.
    workflow: the workflow this is a version of (an editor's page): the id must be its slug.
    author: recorded on the version; by default `user`.

    Identical content stores nothing (SaveResult.created is False). Raises
    DefinitionRefused, and then nothing was stored.
    """
    definition, _ = check_definition(definition_or_source)
    if workflow is not None:
        check_same_id(definition, workflow)
    slug = definition["id"]
    if user is None and isinstance(team, str):
        team = _named_team(team)
    with transaction.atomic():
        existing = Workflow.objects.filter(slug=slug).first()
        if existing is not None:
            check_not_taken(existing, user, team)
            owner = existing.team
        else:
            owner = team_for_new(user, team)
        check_secrets(definition, owner)
        check_workflow_calls(definition, owner)
        version, created = Workflow.import_definition(definition, team=owner, author=user if author is None else author)
        if created:  # issue 20: the audit log
            record("workflow.save", version.workflow, user=user, details={"version": version.version})
    return SaveResult(version=version, created=created, new_workflow=existing is None, definition=definition)


def check_secrets(definition: dict, team: Team) -> None:
    """`{{ secrets.NAME }}` must name a credential of the owning team (issue 20), or DefinitionRefused(INVALID).

    The first validation knew no team; this one knows its credentials (only
    when the definition reads any: most don't, and pay nothing more).
    """
    if not credentials.mentions_secrets(definition):
        return
    result = validate(definition, secrets=credentials.shapes(team))
    if not result["valid"]:
        raise DefinitionRefused(INVALID, "the definition is invalid", result["issues"], result=result)


def check_workflow_calls(definition: dict, team: Team) -> None:
    """Steps that run another workflow (issue 19): it exists in the team, gets its inputs, and no loop."""

    def find(slug: str, label: str | None) -> dict | None:
        workflow = Workflow.objects.filter(team=team, slug=slug).first()
        if workflow is None:
            return None
        version = workflow.versions.filter(version=label).first() if label else workflow.latest_version()
        return version.definition if version is not None else None

    issues = [issue.as_dict() for issue in check_calls(definition, find)]
    if issues:
        result = {"valid": False, "issues": issues}
        raise DefinitionRefused(INVALID, "the definition is invalid", issues, result=result)


def check_same_id(definition: dict, workflow: Workflow) -> None:
    """A version of `workflow` must carry its id: a copy under another id is a new workflow."""
    if definition.get("id") == workflow.slug:
        return
    issue = make_issue(
        ID_MISMATCH,
        f"the id is `{definition.get('id')}`, but this is workflow `{workflow.slug}`",
        "/id",
        f'keep "id": "{workflow.slug}"; to save a copy under another id, use New workflow',
    )
    raise DefinitionRefused(ID_MISMATCH, f"its id must be {workflow.slug!r}", [issue])


def check_not_taken(existing: Workflow, user, team: Team | str | None = None) -> None:
    """Only who may change `existing` adds a version to it: a member of its team, or staff.

    The operator (user None) may add to any workflow, unless they named a
    team: then only to that team's. A user's named team only chooses where a
    new workflow goes.
    """
    if user is None:
        if team is None or existing.team_id == team.pk:
            return
        message = f"workflow {existing.slug!r} belongs to team {existing.team.name!r}, not {team.name!r}"
    elif Workflow.objects.visible_to(user).filter(pk=existing.pk).exists():
        return
    else:
        message = f"the id {existing.slug!r} is taken by another team's workflow"
    issue = make_issue(
        "id_taken", f"the id `{existing.slug}` is taken by another team's workflow", "/id", "choose another id"
    )
    raise DefinitionRefused(TAKEN, message, [issue], workflow=existing)


def team_for_new(user, team: Team | str | None = None) -> Team:
    """The team a new workflow goes to (see save_definition), or DefinitionRefused(TEAM)."""
    if user is None:
        return team or Team.default()
    try:
        return Team.for_new_workflow(user, team.name if isinstance(team, Team) else team)
    except TeamChoiceError as exc:
        issue = make_issue(TEAM, str(exc), "", "ask an administrator to add you to a team")
        raise DefinitionRefused(TEAM, str(exc), [issue]) from None


def _named_team(name: str) -> Team:
    team = Team.objects.filter(name=name).first()
    if team is None:
        message = f"no team named {name!r}"
        raise DefinitionRefused(TEAM, message, [make_issue(TEAM, message, "", "name an existing team")])
    return team


# --- managing workflows and runs (issue 18) -------------------------------------------------


class WorkflowRefused(Exception):
    """A change to a workflow that its state forbids (deleting one that has runs); nothing changed."""


def archive(workflow: Workflow) -> bool:
    """Archive: hidden from the list, starts no new run (the engine refuses), its runs stay readable.

    Returns False when it already was. Its schedules stay as they are: a
    firing is refused and says why in its last error, and unarchiving resumes them.
    """
    return workflow.set_archived(True)


def unarchive(workflow: Workflow) -> bool:
    """Back in the list, and runs start again. False when it wasn't archived."""
    return workflow.set_archived(False)


def delete_workflow(workflow: Workflow) -> None:
    """Delete a workflow that never ran, with its versions, schedules and webhooks.

    One with runs is refused (WorkflowRefused): archive it instead, so its
    runs stay readable. A run started meanwhile is protected by its version
    (Run.version is PROTECT), which makes the delete fail whole.
    """
    refusal = f"workflow {workflow.slug} has runs: archive it instead, so that its runs stay readable"
    try:
        with transaction.atomic():
            if workflow.has_runs():
                raise WorkflowRefused(refusal)
            for schedule in workflow.schedules.all():
                schedule.delete()  # each removes its beat entry, which a cascade would leave behind
            workflow.delete()
    except ProtectedError:
        raise WorkflowRefused(refusal) from None


def cancel_many(runs) -> list:
    """Cancel each of `runs` (the caller chose those its user may act on); returns the ones cancelled.

    Runs that had already finished are left as they are.
    """
    return [run for run in runs if cancel(run)]


# --- waiting steps --------------------------------------------------------------


class WaitRefused(Exception):
    """Nothing waits for this decision or event (anymore)."""


def decide(step, approved: bool, by: str, comment: str = "", user=None) -> None:
    """Approve or reject a waiting core.approval step; WaitRefused when it doesn't wait for a decision.

    Recorded in the audit log with the run; `by` names the person, a signed link or the CLI.
    """
    if not _waits.decide(step, approved, by, comment):
        raise WaitRefused(f"step {step.step_id} of run {step.run_id} is not waiting for a decision ({step.status})")
    details = {"step": step.step_id, "by": by, "comment": comment}
    record("run.approve" if approved else "run.reject", step.run, user=user, details=details)


def post_event(run, name: str, payload) -> tuple[int, bool]:
    """Post a named event to a run: (steps it ended, kept for a later step). WaitRefused when neither.

    An event no step waits for yet is kept for the first that will (execution/waits.py):
    refused only when the run has ended, or holds OAWEB_MAX_POSTED_EVENTS events not taken.
    """
    if len(json.dumps(payload)) > settings.OAWEB_MAX_OUTPUT_BYTES:
        raise WaitRefused(f"the payload is over {settings.OAWEB_MAX_OUTPUT_BYTES} bytes (OAWEB_MAX_OUTPUT_BYTES)")
    delivered, kept = retrying(_waits.post_event, run.pk, name, payload)
    if not delivered and not kept:
        raise WaitRefused(
            f"run {run.pk} takes no event {name!r}: it has ended, or holds "
            f"{settings.OAWEB_MAX_POSTED_EVENTS} events no step took yet (OAWEB_MAX_POSTED_EVENTS)"
        )
    return delivered, kept


# --- runs, audited (issue 20) -------------------------------------------------------------


def start(target, inputs: dict | None = None, user=None, priority: int | None = None, trigger="manual"):
    """The engine's start_run (RunRefused, StateUnavailable), recorded in the audit log with the run."""
    with transaction.atomic():
        run = _runs.start_run(target, inputs, user=user, priority=priority, trigger=trigger)
        record("run.start", run, user=user, details={"trigger": trigger, "version": run.version.version})
    return run


def cancel(run, user=None) -> bool:
    """The engine's cancel_run; a run that had finished is left as it was (False), and nothing is recorded."""
    cancelled = _runs.cancel_run(run)
    if cancelled:
        record("run.cancel", run, user=user)
    return cancelled


def rerun(run, user=None):
    """The engine's rerun: a new run reusing the steps that succeeded, recorded in the audit log."""
    with transaction.atomic():
        new = _runs.rerun(run, user=user)
        record("run.rerun", new, user=user, details={"rerun_of": run.pk})
    return new
