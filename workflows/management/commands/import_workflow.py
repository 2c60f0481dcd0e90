"""Import workflow definition files: each creates its workflow or a new version.

Every file is read and validated before anything is stored; one unreadable or
invalid file, or one the rules of services.save_definition refuse (another
team's workflow), means nothing is imported. Identical content creates nothing.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from workflows import services
from workflows.management.commands.validate_workflow import EXIT_INVALID, format_issue, read_source
from workflows.models import Team


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
        definitions = [(path, self.load(path)) for path in files]

        lines = []
        with transaction.atomic():  # a refused file rolls back the ones before it
            for path, definition in definitions:
                try:
                    saved = services.save_definition(definition, None, owner, author=author_user)
                except services.DefinitionRefused as refused:
                    if refused.code == services.TAKEN:  # the message names the workflow and both teams
                        raise CommandError(f"{refused}; nothing imported") from None
                    self.write_issues(path, refused.issues)
                    raise CommandError(f"{path}: {refused}; nothing imported", returncode=EXIT_INVALID) from None
                lines.append(describe(saved.version, saved.created, asked=definition.get("version")))
        for line in lines:
            self.stdout.write(line)

    def load(self, path: str) -> dict:
        """The file's definition if it is valid; else its issues on stderr and CommandError."""
        try:
            definition, warnings = services.check_definition(services.Source(read_source(path)))
        except services.DefinitionRefused as refused:
            self.write_issues(path, refused.issues)
            raise CommandError(f"{path}: invalid; nothing imported", returncode=EXIT_INVALID) from None
        self.write_issues(path, warnings)
        return definition

    def write_issues(self, path: str, issues: list[dict]) -> None:
        for issue in issues:
            self.stderr.write(f"{path}: {format_issue(issue)}")


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


def describe(version, created: bool, asked: str | None) -> str:
    line = f"{'created' if created else 'unchanged'} {version}"
    if created and asked and asked != version.version:
        line += f" (version {asked} already holds other content)"
    return line
