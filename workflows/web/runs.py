"""Runs: the filtered list, one run live, one step's detail, cancel (one or the selected), re-run, run again."""

import time
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from workflows import services
from workflows.execution import runs as engine
from workflows.execution.models import Run, StepRun
from workflows.execution.state import StateUnavailable
from workflows.execution.status import RunStatus
from workflows.models import Workflow
from workflows.templatetags.run_io import pretty_json
from workflows.web import graphs, live, maps, run_form, waiting
from workflows.web.access import get_run_for
from workflows.web.approvals import may_decide
from workflows.web.htmx import wants_fragment
from workflows.web.step_records import as_records, records_query, step_records

PAGE_SIZE = 50
# Runs one bulk cancel acts on at most (a page of the list holds PAGE_SIZE).
MAX_SELECTED = 500
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
    started, cpu = time.perf_counter(), time.thread_time()
    run = get_run_for(request.user, run_id)
    whole_table = request.GET.get("steps") == "all"
    if request.GET.get("part") == "steps" and not whole_table:
        # A later page of the step table refreshing itself: only its rows are read.
        context = _steps_context(run, records_query(run), request.GET.get("page"))
        context["table"] = as_records(context["table"])
        return render(request, "runs/_steps.html", context)
    context = live.run_context(run, step_records(run), whole_table=whole_table)
    if not context["whole_table"]:
        # The table in pages of live.TABLE_LIMIT rows; the socket keeps the first page's rows up to date.
        context.update(_steps_context(run, context["steps"], request.GET.get("page")))
    context.update(
        nav="runs",
        graph=graphs.plan_graph(engine.plan_of(run), context["statuses"], context["nodes"]),
        # The socket sends whatever changed after this page was rendered.
        rendered_at=f"{time.time():.3f}",
    )
    response = render(request, "runs/detail.html", context)
    # The page's own time, and the CPU time its thread spent (what other load on the machine can't inflate),
    # apart from the network and the server's queue: the browser shows them, a test reads them.
    wall, spent = (time.perf_counter() - started) * 1000, (time.thread_time() - cpu) * 1000
    response["Server-Timing"] = f"view;dur={wall:.1f}, cpu;dur={spent:.1f}"
    return response


def _steps_context(run, rows, number) -> dict:
    """One page of the step table: `rows` (a list or a query) cut at live.TABLE_LIMIT."""
    table_page: Page = Paginator(rows, live.TABLE_LIMIT).get_page(number)
    return {
        "run": run,
        "table": list(table_page.object_list),
        "table_page": table_page,
        "step_base": reverse("step-detail", args=[run.pk, "-"])[:-2],
    }


@login_required
@require_GET
def step_detail(request, run_id, step_id):
    """Any step of the run by its id, a map's item ("M[3]") too: its inputs, outputs, wait, log and attempts.

    A map's page lists its items (?status= a group of maps.FILTERS, ?page=);
    ?part=items renders that list alone, for its own links and live refresh.
    """
    run = get_run_for(request.user, run_id)
    try:
        step = StepRun.objects.select_related("map_step").get(run=run, step_id=step_id)
    except StepRun.DoesNotExist:
        raise Http404("no such step") from None
    items = _items_of(request, step)
    if request.GET.get("part") == "items":
        if items is None:
            raise Http404("not a map step")
        return render(request, "runs/_map_items.html", {"run": run, "step": step, "items": items})
    context = {
        "run": run,
        "step": step,
        # Each attempt's back-off (its retry's delay), queue wait and run, told apart.
        "attempts": live.attempts_of(step, step.attempts.defer("log")),  # the log section reads its own
        "inputs": _pretty(step.inputs),
        "outputs": _pretty(step.outputs),
        "item": _pretty(step.item) if step.is_item else None,
        "items": items,
        # A sub-workflow step's child runs, one per attempt that started one (Run.parent_step).
        "child_runs": list(step.child_runs.order_by("id").only("id", "status")) if _may_have_children(step) else [],
        # The approval's buttons and signed link are for the run's team (approvals.may_decide).
        "may_decide": (step.wait or {}).get("kind") == waiting.APPROVAL and may_decide(request.user, run),
    }
    template = "runs/_step_detail.html" if wants_fragment(request) else "runs/step.html"
    return render(request, template, context)


def _items_of(request, step: StepRun) -> maps.ItemsPage | None:
    """A map step's page of items, as the request's ?status= and ?page= ask; None for any other step."""
    if step.items_left is None:
        return None
    return maps.items_page(step, request.GET.get("status", ""), request.GET.get("page"))


def _may_have_children(step: StepRun) -> bool:
    return (step.wait or {}).get("kind") == waiting.RUN


@login_required
@require_POST
def run_cancel(request, run_id):
    run = get_run_for(request.user, run_id)
    if services.cancel(run, user=request.user):
        messages.success(request, f"Run {run.pk} cancelled.")
    else:
        messages.error(request, f"Run {run.pk} had already finished ({run.status}).")
    return _go_to(request, run)


@login_required
@require_POST
def run_rerun(request, run_id):
    run = get_run_for(request.user, run_id)
    try:
        new = services.rerun(run, user=request.user)
    except engine.RunRefused as refused:
        messages.error(request, str(refused))
        return _go_to(request, run)
    except StateUnavailable as exc:
        messages.error(request, f"Could not start the re-run: {exc}")
        return _go_to(request, run)
    messages.success(request, f"Re-running run {run.pk} from where it stopped.")
    return _go_to(request, new)


@login_required
@require_POST
def run_cancel_selected(request):
    """Cancel the runs ticked on the list (those of them the user may see), then back to the same list."""
    ids = [value for value in request.POST.getlist("run") if value.isdigit()][:MAX_SELECTED]
    # Ids of runs the user may not see are left out without a word, as everywhere (no existence leak).
    runs = list(Run.objects.visible_to(request.user).filter(pk__in=ids).order_by("id"))
    cancelled = services.cancel_many(runs)
    if not ids:
        messages.error(request, "Select the runs to cancel first.")
    else:
        left = len(runs) - len(cancelled)
        finished = f" {left} had already finished." if left else ""
        numbers = ", ".join(f"#{run.pk}" for run in cancelled)
        messages.success(request, f"Cancelled {len(cancelled)} run(s){': ' + numbers if numbers else ''}.{finished}")
    back = QueryDict(request.POST.get("query", "")).urlencode()  # re-encoded: only a query, never another URL
    return _navigate(request, reverse("run-list") + (f"?{back}" if back else ""))


@login_required
@require_http_methods(["GET", "POST"])
def run_again(request, run_id):
    """A finished run's Run form: its version, its inputs filled in and editable; posting starts a new run."""
    run = get_run_for(request.user, run_id)
    if not run.is_final:
        messages.info(request, f"Run {run.pk} is still {run.status}: it can run again once it has finished.")
        return redirect("run-detail", run_id=run.pk)
    definition = run.version.definition
    if request.method == "GET":
        return render(request, "runs/again.html", _again_context(run, run_form.prefilled(definition, run.inputs)))
    inputs, errors = run_form.parse_again(definition, request.POST, run.inputs)
    status = 400
    if not errors:
        try:
            new = services.start(run.version, inputs, user=request.user, priority=run.priority, trigger="manual")
        except services.RunRefused as refused:
            errors = run_form.errors_from_issues(refused.issues) or {run_form.GENERAL: str(refused)}
        except StateUnavailable as exc:
            errors, status = {run_form.GENERAL: f"The run could not start: {exc}"}, 503
        else:
            messages.success(request, f"Run {new.pk} started, again with the inputs of run {run.pk}.")
            return _go_to(request, new)
    form = run_form.prefilled(definition, run.inputs, data=request.POST, errors=errors)
    context = _again_context(run, form, errors.get(run_form.GENERAL, ""))
    template = "workflows/_run_form.html" if wants_fragment(request) else "runs/again.html"
    return render(request, template, context, status=status)


def _again_context(run, fields, run_error="") -> dict:
    latest = run.workflow.latest_version()
    return {
        "nav": "runs",
        "run": run,
        "workflow": run.workflow,
        "latest": run.version,
        "newer": latest if latest and latest.pk != run.version_id else None,
        "fields": fields,
        "any_required": any(field.required for field in fields),
        "run_error": run_error,
        "form_action": reverse("run-again", args=[run.pk]),
        "form_title": "Run again",
    }


def _go_to(request, run):
    """To the run's page: a redirect, or for htmx a full navigation (HX-Redirect)."""
    return _navigate(request, reverse("run-detail", args=[run.pk]))


def _navigate(request, url: str):
    if request.headers.get("HX-Request"):
        return HttpResponse(status=204, headers={"HX-Redirect": url})
    return redirect(url)


def _pretty(value) -> str | None:
    # Masked for the screen only: the stored inputs and outputs stay whole for later steps and re-runs.
    # Cut as the run's own outputs are: a map's outputs gather every item's, 10,000 of them.
    return None if value is None else pretty_json(value)
