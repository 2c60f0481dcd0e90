"""Workflows: the list, one workflow (versions, picture, runs, the Run form), diffs, exports, starting a run,
archiving and deleting."""

import difflib
import json
import re

import markdown
import nh3
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import OuterRef, Q, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from workflows import services
from workflows.execution import runs as engine
from workflows.execution.state import StateUnavailable
from workflows.models import FAILURE_RATE_RUNS, WORKFLOW_SORTS, Workflow, WorkflowVersion
from workflows.web import examples, run_form
from workflows.web.access import get_workflow_for
from workflows.web.graphs import dag_json
from workflows.web.htmx import wants_fragment

PAGE_SIZE = 25
RECENT_RUNS = 10
# ?show= on the list: which workflows, by archived or not (archived ones are hidden by default).
SHOWN = {"active": "Active", "archived": "Archived", "all": "All"}
SORT_LABELS = {"name": "Name", "last_run": "Last run", "failure_rate": "Failure rate"}
DIFF_CONTEXT = 3
_HUNK_RE = re.compile(r"@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")

# A workflow's description is shown as Markdown: Python-Markdown renders it, then nh3 (Rust's ammonia, a
# maintained sanitiser) keeps only the tags Markdown makes, with safe links; a list shows inline ones only.
MARKDOWN_TAGS = {"p", "br", "hr", "em", "strong", "code", "pre", "a", "ul", "ol", "li", "blockquote"}
MARKDOWN_TAGS |= {"h1", "h2", "h3", "h4", "h5", "h6"}
SUMMARY_TAGS = {"em", "strong", "code"}
MARKDOWN_MAX_CHARS = 20_000  # past this, the rest is left out: a page never waits on a huge description
SUMMARY_SOURCE_CHARS = 400  # the list shows about 140 characters of it


def markdown_html(text: str, tags: set[str] = MARKDOWN_TAGS) -> SafeString:
    """A description's Markdown as HTML that is safe to put in a page (scripts, handlers, javascript: URLs gone)."""
    if not isinstance(text, str) or not text.strip():
        return mark_safe("")
    if len(text) > MARKDOWN_MAX_CHARS:
        text = text[:MARKDOWN_MAX_CHARS] + "…"
    html = markdown.markdown(text, output_format="html")
    clean = nh3.clean(
        html,
        tags=tags,
        attributes={"a": {"href", "title"}} if "a" in tags else {},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # nh3 has just sanitised it


def markdown_summary(text: str) -> SafeString:
    """The start of a description for a list row: inline Markdown only (code, emphasis), no blocks or links."""
    if not isinstance(text, str):
        return mark_safe("")
    return markdown_html(text[:SUMMARY_SOURCE_CHARS], tags=SUMMARY_TAGS)


def latest_versions(workflows):
    """The latest version of each of `workflows` in two queries (Workflow.latest_version's order)."""
    newest = WorkflowVersion.objects.filter(workflow=OuterRef("pk")).order_by("-created", "-id").values("pk")[:1]
    ids = workflows.annotate(latest_id=Subquery(newest)).values_list("latest_id", flat=True)
    return WorkflowVersion.objects.filter(pk__in=[pk for pk in ids if pk is not None]).select_related("workflow")


def pretty(definition) -> str:
    """A definition as people read, edit, diff and download it (the export command's layout)."""
    return json.dumps(definition, indent=2, ensure_ascii=False)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def workflow_list(request):
    visible = Workflow.objects.visible_to(request.user)
    q = request.GET.get("q", "").strip()
    tag = request.GET.get("tag", "").strip()
    show = request.GET.get("show", "")
    show = show if show in SHOWN else "active"
    sort = request.GET.get("sort", "")
    sort = sort if sort in WORKFLOW_SORTS else "name"
    tagged = list(visible.values_list("pk", "tags"))
    workflows = {"active": visible.active(), "archived": visible.archived(), "all": visible}[show]
    if q:
        workflows = workflows.filter(Q(name__icontains=q) | Q(slug__icontains=q) | Q(description__icontains=q))
    if tag:
        # Tags are a JSON list: SQLite has no `contains` lookup on it, so match here.
        workflows = workflows.filter(pk__in=[pk for pk, tags in tagged if isinstance(tags, list) and tag in tags])
    latest = WorkflowVersion.objects.filter(workflow=OuterRef("pk")).order_by("-created", "-id")
    workflows = workflows.with_run_summary().annotate(latest_label=Subquery(latest.values("version")[:1]))
    page = Paginator(workflows.sorted_by(sort), PAGE_SIZE).get_page(request.GET.get("page"))
    for workflow in page:
        workflow.summary_html = markdown_summary(workflow.description)
    query = request.GET.copy()
    query.pop("page", None)
    unsorted = query.copy()
    unsorted.pop("sort", None)
    context = {
        "nav": "workflows",
        "page": page,
        "q": q,
        "tag": tag,
        "show": show,
        "shown_choices": SHOWN,
        "sort": sort,
        "sort_choices": SORT_LABELS,
        "rate_runs": FAILURE_RATE_RUNS,
        "tags": sorted({t for _, tags in tagged if isinstance(tags, list) for t in tags if isinstance(t, str)}),
        "query": query.urlencode(),
        "unsorted_query": unsorted.urlencode(),
        "any_workflow": bool(tagged),
        "examples": examples.names(),
    }
    template = "workflows/_list.html" if wants_fragment(request) else "workflows/list.html"
    return render(request, template, context)


@login_required
@require_GET
def workflow_detail(request, slug):
    workflow = get_workflow_for(request.user, slug)
    return render(request, "workflows/detail.html", _detail_context(request, workflow))


@login_required
@require_POST
def start_run(request, slug):
    workflow = get_workflow_for(request.user, slug)
    version = workflow.latest_version()
    if version is None:
        raise Http404("the workflow has no version")
    inputs, errors = run_form.parse(version.definition, request.POST)
    status = 400
    if not errors:
        try:
            # The version the form was built from, not whatever is latest by now.
            run = services.start(version, inputs, user=request.user, trigger="manual")
        except engine.RunRefused as refused:
            errors = run_form.errors_from_issues(refused.issues) or {run_form.GENERAL: str(refused)}
        except StateUnavailable as exc:
            errors, status = {run_form.GENERAL: f"The run could not start: {exc}"}, 503
        else:
            messages.success(request, f"Run {run.pk} of {workflow.slug} started.")
            if wants_fragment(request):  # htmx follows this header with a real navigation
                return HttpResponse(status=204, headers={"HX-Redirect": reverse("run-detail", args=[run.pk])})
            return redirect("run-detail", run_id=run.pk)
    if wants_fragment(request):
        # The form alone, swapped in place (its section's before-swap takes 400 and 503): the address
        # bar stays on the workflow's page, and a reload never re-posts the form.
        context = _run_form_context(workflow, version, data=request.POST, errors=errors)
        return render(request, "workflows/_run_form.html", context, status=status)
    context = _detail_context(request, workflow, data=request.POST, errors=errors)
    return render(request, "workflows/detail.html", context, status=status)


def _run_form_context(workflow, latest, data=None, errors=None) -> dict:
    """What workflows/_run_form.html reads: the Run form of `latest`, re-shown with `data` and `errors`."""
    errors = errors or {}
    fields = run_form.fields(latest.definition, data, errors) if latest else []
    return {
        "workflow": workflow,
        "latest": latest,
        "fields": fields,
        "any_required": any(field.required for field in fields),
        "run_error": errors.get(run_form.GENERAL, ""),
    }


def _detail_context(request, workflow, data=None, errors=None) -> dict:
    # Definitions are read for the shown and the latest version only: parsing every version's JSON
    # cost about 110 ms a version of 5,000 steps.
    versions = list(workflow.versions.select_related("author").defer("definition").order_by("-created", "-id"))
    latest = versions[0] if versions else None
    shown = latest
    wanted = request.GET.get("version")
    if wanted:
        shown = next((version for version in versions if str(version.pk) == wanted), None)
        if shown is None:
            raise Http404("no such version of this workflow")
    runs = list(workflow.runs.select_related("version", "created_by").order_by("-created", "-id")[:RECENT_RUNS])
    return {
        **_run_form_context(workflow, latest, data, errors),
        "nav": "workflows",
        "can_delete": not runs,  # no recent run means no run at all
        "versions": versions,
        "shown": shown,
        "description_html": markdown_html(workflow.description),
        "graph": dag_json(shown.definition) if shown else None,
        "runs": runs,
        "compare_a": versions[1].pk if len(versions) > 1 else (latest.pk if latest else None),
        "compare_b": latest.pk if latest else None,
    }


@login_required
@require_POST
def workflow_archive(request, slug, archived: bool):
    """Archive (archived=True) or unarchive a workflow, then back to its page."""
    workflow = get_workflow_for(request.user, slug)
    if archived:
        done = services.archive(workflow)
        text = "archived: it starts no new runs, and its runs stay readable" if done else "was already archived"
    else:
        done = services.unarchive(workflow)
        text = "unarchived: it can run again" if done else "was not archived"
    (messages.success if done else messages.info)(request, f"Workflow {workflow.slug} {text}.")
    return _navigate(request, reverse("workflow-detail", args=[workflow.slug]))


@login_required
@require_POST
def workflow_delete(request, slug):
    workflow = get_workflow_for(request.user, slug)
    try:
        services.delete_workflow(workflow)
    except services.WorkflowRefused as refused:
        messages.error(request, str(refused))
        return _navigate(request, reverse("workflow-detail", args=[workflow.slug]))
    messages.success(request, f"Workflow {slug} deleted.")
    return _navigate(request, reverse("workflow-list"))


def _navigate(request, url: str):
    """A redirect, or for htmx (a form that asked hx-confirm first) a full navigation (HX-Redirect)."""
    if wants_fragment(request):
        return HttpResponse(status=204, headers={"HX-Redirect": url})
    return redirect(url)


@login_required
@require_GET
def version_diff(request, slug):
    workflow = get_workflow_for(request.user, slug)
    old = _version_of(workflow, request.GET.get("a"))
    new = _version_of(workflow, request.GET.get("b"))
    context = {
        "nav": "workflows",
        "workflow": workflow,
        "old": old,
        "new": new,
        "lines": diff_lines(old.definition, new.definition, f"{slug}@{old.version}", f"{slug}@{new.version}"),
    }
    return render(request, "workflows/diff.html", context)


def _version_of(workflow, version_id) -> WorkflowVersion:
    if not version_id or not str(version_id).isdigit():
        raise Http404("name two versions: ?a=<id>&b=<id>")
    return get_object_or_404(workflow.versions, pk=int(version_id))


def diff_lines(old: dict, new: dict, old_name: str = "a", new_name: str = "b") -> list[dict]:
    """A unified diff of two definitions as rows {kind, old, new, text}.

    kind: "file" (the ---/+++ headers), "hunk" (@@), "add", "del", "ctx";
    old/new: the line numbers on each side (None where the line is absent).
    """
    rows = []
    old_line = new_line = 0
    diff = difflib.unified_diff(
        pretty(old).splitlines(), pretty(new).splitlines(), old_name, new_name, lineterm="", n=DIFF_CONTEXT
    )
    for index, text in enumerate(diff):
        if index < 2:  # unified_diff starts with the two file headers
            rows.append({"kind": "file", "old": None, "new": None, "text": text})
        elif text.startswith("@@"):
            match = _HUNK_RE.match(text)
            old_line, new_line = (int(match.group(1)), int(match.group(2))) if match else (old_line, new_line)
            rows.append({"kind": "hunk", "old": None, "new": None, "text": text})
        elif text.startswith("+"):
            rows.append({"kind": "add", "old": None, "new": new_line, "text": text[1:]})
            new_line += 1
        elif text.startswith("-"):
            rows.append({"kind": "del", "old": old_line, "new": None, "text": text[1:]})
            old_line += 1
        else:
            rows.append({"kind": "ctx", "old": old_line, "new": new_line, "text": text[1:]})
            old_line += 1
            new_line += 1
    return rows


@login_required
@require_GET
def version_export(request, slug, version_id):
    workflow = get_workflow_for(request.user, slug)
    version = get_object_or_404(workflow.versions, pk=version_id)
    response = HttpResponse(pretty(version.definition) + "\n", content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{workflow.slug}-{version.version}.json")
    return response
