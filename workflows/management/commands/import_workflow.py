"""Import workflow definition files: each creates its workflow or a new version.

Every file is read and validated before anything is stored; one unreadable or
invalid file means nothing is imported. Identical content creates nothing.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from workflows.management.commands.validate_workflow import EXIT_INVALID, format_issue, read_source
from workflows.models import Team, Workflow
from workflows.validation import parse_definition, validate


class Command(BaseCommand):
    help = "Import workflow definition files (validated first; identical content creates nothing)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="JSON definition files")
        parser.add_argument(
            "--team",
            help="team owning newly created workflows (default: the default team); an existing workflow of "
            "another team is refused",
        )
        parser.add_argument("--author", metavar="USERNAME", help="user recorded as the versions' author")

    def handle(self, *args, files, team=None, author=None, **options):
        owner = find_team(team) if team else None
        author_user = find_author(author) if author else None
        definitions = [self.load(path) for path in files]
        if owner:
            refuse_other_teams(definitions, owner)

        with transaction.atomic():
            team_for_new = owner or Team.default()
            for definition in definitions:
                version, created = Workflow.import_definition(definition, team=team_for_new, author=author_user)
                self.stdout.write(describe(version, created, asked=definition.get("version")))

    def load(self, path: str) -> dict:
        """The file's definition if it is valid; else its issues on stderr and CommandError."""
        definition, issues = parse_definition(read_source(path))
        result = {"valid": False, "issues": issues} if issues else validate(definition)
        for issue in result["issues"]:
            self.stderr.write(f"{path}: {format_issue(issue)}")
        if not result["valid"]:
            raise CommandError(f"{path}: invalid; nothing imported", returncode=EXIT_INVALID)
        return definition


def find_team(name: str) -> Team:
    try:
        return Team.objects.get(name=name)
    except Team.DoesNotExist:
        raise CommandError(f"no team named {name!r}") from None


def find_author(username: str):
    User = get_user_model()
    try:
        return User.objects.get(**{User.USERNAME_FIELD: username})
    except User.DoesNotExist:
        raise CommandError(f"no user named {username!r}") from None


def refuse_other_teams(definitions: list[dict], team: Team) -> None:
    """An explicit --team must not add versions to another team's workflow."""
    slugs = [definition["id"] for definition in definitions]
    workflow = Workflow.objects.filter(slug__in=slugs).exclude(team=team).select_related("team").first()
    if workflow:
        raise CommandError(
            f"workflow {workflow.slug!r} belongs to team {workflow.team.name!r}, not {team.name!r}; nothing imported"
        )


def describe(version, created: bool, asked: str | None) -> str:
    line = f"{'created' if created else 'unchanged'} {version}"
    if created and asked and asked != version.version:
        line += f" (version {asked} already holds other content)"
    return line
