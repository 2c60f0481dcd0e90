"""The actions people take, each written once.

A door (a web page, the API, a management command, the admin) reads its own
input, calls one function here, and turns the answer or the refusal into its
own kind of reply: a page, a status code, an exit code. The rules live here,
so a rule changed here changes for every door at once.

    save_definition(definition or Source(text), user, team=None, workflow=None, author=...) -> SaveResult
    start(target, inputs, ...), cancel(run), rerun(run, ...)   (workflows/execution/runs.py)

A refusal is a DefinitionRefused (or the engine's RunRefused): never an HTTP
error, which only views raise.
"""

from dataclasses import dataclass

from django.db import transaction

from workflows.definitions.validation import Issue, make_issue, parse_definition, validate
from workflows.execution import runs as _runs
from workflows.models import Team, TeamChoiceError, Workflow, WorkflowVersion

# The engine's actions need no more than their own checks: the doors call them through here.
RunRefused = _runs.RunRefused
start = _runs.start_run
cancel = _runs.cancel_run
rerun = _runs.rerun

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
        version, created = Workflow.import_definition(definition, team=owner, author=user if author is None else author)
    return SaveResult(version=version, created=created, new_workflow=existing is None, definition=definition)


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
