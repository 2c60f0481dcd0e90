"""A person's decision on a waiting approval step: from the run page (team members), or a signed link."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from workflows import services
from workflows.execution import waits
from workflows.execution.models import StepRun
from workflows.visibility import in_team
from workflows.web.access import get_run_for

COMMENT_MAX = 10000


@login_required
@require_POST
def step_decide(request, run_id, step_id):
    """Approve or reject from the step panel, then back to the run."""
    run = get_run_for(request.user, run_id)
    step = StepRun.objects.filter(run=run, step_id=step_id).first()
    if step is None:
        raise Http404("no such step")
    if not may_decide(request.user, run):  # staff of another team see the run, and only see it
        raise PermissionDenied("only the run's team decides")
    approved = request.POST.get("decision") == "approve"
    try:
        services.decide(step, approved, by=request.user.get_username(), comment=_comment(request), user=request.user)
    except services.WaitRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Step {step.step_id} {'approved' if approved else 'rejected'}.")
    return redirect(reverse("run-detail", args=[run.pk]))


@require_http_methods(["GET", "POST"])
def approval_link(request, token):
    """A signed link's page: what is asked, and the two buttons. Whoever holds the link may decide."""
    step = waits.step_of_token(token)
    if step is None:
        return render(request, "approvals/gone.html", status=404)
    if request.method == "POST":
        approved = request.POST.get("decision") == "approve"
        by = request.user.get_username() if request.user.is_authenticated else "signed link"
        try:
            services.decide(step, approved, by=by, comment=_comment(request), user=request.user)
        except services.WaitRefused:
            return render(request, "approvals/gone.html", status=404)
        return render(request, "approvals/decided.html", {"step": step, "approved": approved})
    return render(request, "approvals/link.html", {"step": step, "wait": step.wait})


def may_decide(user, run) -> bool:
    """Whether `user` is of the run's team: the step panel shows them the buttons and the signed link.

    Staff see every run (visibility.py) but decide only for their own teams' runs; whoever holds
    the signed link decides too, without a login.
    """
    return in_team(user, run.workflow.team_id)


def _comment(request) -> str:
    return request.POST.get("comment", "")[:COMMENT_MAX]
