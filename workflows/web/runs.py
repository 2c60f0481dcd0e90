"""Runs: the filtered list, one run live, one step's detail, cancel and re-run."""

import json
import time
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from workflows.execution import runs as engine
from workflows.execution.models import Run, StepRun
from workflows.execution.state import StateUnavailable
from workflows.execution.status import RunStatus
from workflows.models import Workflow
from workflows.redaction import redact_data
from workflows.web import graphs, live
from workflows.web.access import get_run_for
from workflows.web.htmx import wants_fragment

PAGE_SIZE = 50
PERIODS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


@login_required
@require_GET
def run_list(request):
    runs = Run.objects.visible_to(request.user).select_related("workflow", "version").order_by("-created", "-id")
    workflow = request.GET.get("workflow", "")
    status = request.GET.get("status", "")
    period = request.GET.get("period", "")
    if workflow:
        runs = runs.filter(workflow__slug=workflow)
    if status in RunStatus.values:
        runs = runs.filter(status=status)
    if period in PERIODS:
        runs = runs.filter(created__gte=timezone.now() - PERIODS[period])
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "nav": "runs",
        "page": page,
        "query": query.urlencode(),
        "workflows": Workflow.objects.visible_to(request.user).order_by("name").values_list("slug", "name"),
        "statuses": RunStatus.values,
        "periods": list(PERIODS),
        "selected": {"workflow": workflow, "status": status, "period": period},
    }
    template = "runs/_list.html" if wants_fragment(request) else "runs/list.html"
    return render(request, template, context)


@login_required
@require_GET
def run_detail(request, run_id):
    run = get_run_for(request.user, run_id)
    context = live.run_context(run, whole_table=request.GET.get("steps") == "all")
    context.update(
        nav="runs",
        graph=graphs.plan_graph(engine.plan_of(run), context["statuses"]),
        # The socket sends whatever changed after this page was rendered.
        rendered_at=f"{time.time():.3f}",
    )
    return render(request, "runs/detail.html", context)


@login_required
@require_GET
def step_detail(request, run_id, step_id):
    run = get_run_for(request.user, run_id)
    try:
        step = StepRun.objects.get(run=run, step_id=step_id)
    except StepRun.DoesNotExist:
        raise Http404("no such step") from None
    context = {
        "run": run,
        "step": step,
        # Each attempt's back-off (its retry's delay), queue wait and run, told apart.
        "attempts": live.attempts_of(step, step.attempts.all()),
        "inputs": _pretty(step.inputs),
        "outputs": _pretty(step.outputs),
    }
    template = "runs/_step_detail.html" if wants_fragment(request) else "runs/step.html"
    return render(request, template, context)


@login_required
@require_POST
def run_cancel(request, run_id):
    run = get_run_for(request.user, run_id)
    if engine.cancel_run(run):
        messages.success(request, f"Run {run.pk} cancelled.")
    else:
        messages.error(request, f"Run {run.pk} had already finished ({run.status}).")
    return _go_to(request, run)


@login_required
@require_POST
def run_rerun(request, run_id):
    run = get_run_for(request.user, run_id)
    try:
        new = engine.rerun(run, user=request.user)
    except engine.RunRefused as refused:
        messages.error(request, str(refused))
        return _go_to(request, run)
    except StateUnavailable as exc:
        messages.error(request, f"Could not start the re-run: {exc}")
        return _go_to(request, run)
    messages.success(request, f"Re-running run {run.pk} from where it stopped.")
    return _go_to(request, new)


def _go_to(request, run):
    """To the run's page: a redirect, or for htmx a full navigation (HX-Redirect)."""
    url = reverse("run-detail", args=[run.pk])
    if request.headers.get("HX-Request"):
        return HttpResponse(status=204, headers={"HX-Redirect": url})
    return redirect(url)


def _pretty(value) -> str | None:
    # Masked for the screen only: the stored inputs and outputs stay whole for later steps and re-runs.
    return None if value is None else json.dumps(redact_data(value), indent=2, ensure_ascii=False)
