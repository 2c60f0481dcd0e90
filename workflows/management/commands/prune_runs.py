"""`python manage.py prune_runs --older-than 30d`: delete old finished runs, keep the metrics."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from workflows.metrics.prune import parse_age, prune_runs


class Command(BaseCommand):
    help = "Delete finished runs (with their steps) older than --older-than; metric rollups stay."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", required=True, help="age of the runs to delete: 30d, 12h")

    def handle(self, *args, older_than, **options):
        try:
            age = parse_age(older_than)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        deleted = prune_runs(timezone.now() - age)
        self.stdout.write(f"deleted {deleted} run{'' if deleted == 1 else 's'} finished before {older_than} ago")
