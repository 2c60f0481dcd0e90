"""Print a workflow version's definition as JSON."""

import json

from django.core.management.base import BaseCommand, CommandError

from workflows.models import Workflow


class Command(BaseCommand):
    help = "Print the definition of a workflow's latest version (or of --version) as JSON."

    def create_parser(self, prog_name, subcommand, **kwargs):
        # Every Django command has --version (Django's version); ours names a workflow version.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("workflow_id", metavar="ID", help="the workflow's id (slug)")
        parser.add_argument("--version", dest="label", metavar="V", help="a version label, e.g. 1.2.0")

    def handle(self, *args, workflow_id, label=None, **options):
        workflow = Workflow.objects.filter(slug=workflow_id).first()
        if workflow is None:
            raise CommandError(f"no workflow with id {workflow_id!r}")
        if label:
            version = workflow.versions.filter(version=label).first()
            if version is None:
                labels = ", ".join(workflow.versions.order_by("created", "id").values_list("version", flat=True))
                raise CommandError(f"workflow {workflow_id!r} has no version {label!r} (it has: {labels or 'none'})")
        else:
            version = workflow.latest_version()
            if version is None:
                raise CommandError(f"workflow {workflow_id!r} has no versions")
        self.stdout.write(json.dumps(version.definition, indent=2, ensure_ascii=False))
