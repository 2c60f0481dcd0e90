"""Import the example workflows shipped in examples/ (idempotent)."""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Import every examples/*.json workflow; running it again imports only what changed."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dir", dest="directory", default=str(settings.BASE_DIR / "examples"), help="directory of examples"
        )
        parser.add_argument("--team", help="team owning newly created example workflows")

    def handle(self, *args, directory, team=None, **options):
        paths = sorted(str(path) for path in Path(directory).glob("*.json"))
        if not paths:
            raise CommandError(f"no *.json examples in {directory}")
        extra = {"team": team} if team else {}
        call_command("import_workflow", *paths, stdout=self.stdout, stderr=self.stderr, **extra)
