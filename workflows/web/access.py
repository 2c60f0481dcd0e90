"""Objects a user may see, or 404 (never 403: no existence leak). For views only."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from workflows.execution.models import Run
from workflows.models import Workflow


def get_workflow_for(user, slug: str) -> Workflow:
    return get_object_or_404(Workflow.objects.visible_to(user), slug=slug)


def get_run_for(user, run_id) -> Run:
    if not str(run_id).isdigit():  # not an id at all: the same 404 as another team's run
        raise Http404("no such run")
    return get_object_or_404(Run.objects.visible_to(user).select_related("workflow", "version"), pk=run_id)
