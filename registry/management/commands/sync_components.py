"""Write the in-code component catalog to the database."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from registry.catalog import CATALOG, DISCOVERY_ERRORS
from registry.models import Component


class Command(BaseCommand):
    help = "Write the components declared in code (built-ins and OAWEB_COMPONENT_MODULES) to the database."

    def add_arguments(self, parser):
        parser.add_argument(
            "--disable-missing",
            action="store_true",
            help="disable components that are in the database but no longer declared in code",
        )

    def handle(self, *args, disable_missing=False, **options):
        # A module that failed to import would look like removed components:
        # refuse to write a partial catalog (and never disable on its account).
        if DISCOVERY_ERRORS:
            lines = "\n".join(f"  {module}: {error}" for module, error in sorted(DISCOVERY_ERRORS.items()))
            raise CommandError(f"component modules failed to import; nothing synced:\n{lines}")

        report = Component.sync(list(CATALOG.values()))
        missing = Component.objects.exclude(name__in=CATALOG).filter(enabled=True).order_by("name")
        missing_names = list(missing.values_list("name", flat=True))
        if disable_missing and missing_names:
            with transaction.atomic():
                for row in missing:
                    row.enabled = False
                    row.save(update_fields=["enabled", "updated"])  # save(): it invalidates the lookup cache

        self.stdout.write(
            f"{len(report['created'])} created, {len(report['updated'])} updated, {len(report['unchanged'])} unchanged"
        )
        for name in report["created"]:
            self.stdout.write(f"  created {name}")
        for name in report["updated"]:
            self.stdout.write(f"  updated {name}")
        if missing_names:
            if disable_missing:
                self.stdout.write(f"{len(missing_names)} disabled (not in code): {', '.join(missing_names)}")
            else:
                self.stdout.write(
                    f"{len(missing_names)} enabled in the database but not in code: {', '.join(missing_names)} "
                    "(--disable-missing disables them)"
                )
