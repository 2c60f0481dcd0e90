"""The definition editor: new, edit, import, and validation as you type.

Saving is services.save_definition, as for the API and import_workflow:
the same validation, ownership and team rules; this module only turns a
refusal into issues shown on their lines.
"""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from json_source_map import calculate
from json_source_map.errors import BaseError as SourceMapError

from workflows import services
from workflows.definitions.validation import ERROR, parse_definition, validate
from workflows.models import Team
from workflows.web import examples
from workflows.web.access import get_workflow_for
from workflows.web.workflow_pages import pretty

IMPORT_MAX_BYTES = 2 * 1024 * 1024
SKELETON = {
    "id": "my-workflow",
    "name": "My workflow",
    "version": "0.1.0",
    "description": "",
    "tags": [],
    "inputs": {"name": {"type": "string", "default": "world"}},
    "steps": [{"id": "first", "component": "core.noop", "inputs": {"name": "{{ inputs.name }}"}}],
    "outputs": {"name": "{{ steps.first.outputs.name }}"},
}
_SYNTAX_AT_RE = re.compile(r"at line (\d+) column (\d+)")


# --- checking a source text ------------------------------------------------------


def check_source(text: str) -> tuple[dict | None, dict]:
    """(definition or None, validation result) for the editor's text; each issue gets a `line` (1-based or None)."""
    definition, issues = parse_definition(text)
    if issues:
        result = {"valid": False, "issues": issues}
    else:
        result = validate(definition)
    # A value the reader refused (NaN, a lone surrogate) comes with a path: the text parsed, so map it to a line.
    parsed = not issues or bool(issues[0]["path"])
    result = {"valid": result["valid"], "issues": with_lines(text, result["issues"], parsed=parsed)}
    return definition, result


def with_lines(text: str, issues: list[dict], parsed: bool = True) -> list[dict]:
    """The issues, each with the line of the source its path (or syntax error) points at.

    A path missing from the source (a required key that isn't there) points
    at its nearest existing parent.
    """
    if not issues:
        return []
    source_map = {}
    if parsed:
        try:
            source_map = calculate(text)
        except (SourceMapError, ValueError, RecursionError):
            source_map = {}
    lined = []
    for issue in issues:
        line = None
        match = _SYNTAX_AT_RE.search(issue["message"]) if issue["code"] == "invalid_json" else None
        if match:
            line = int(match.group(1))
        elif source_map:
            line = _line_of(source_map, issue.get("path") or "")
        lined.append({**issue, "line": line})
    return lined


def _line_of(source_map: dict, pointer: str) -> int | None:
    # json_source_map writes keys unescaped ("/a/b" for the key "a/b"); the
    # validator's pointers are escaped (RFC 6901): compare part by part.
    parts = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]] if pointer else []
    while True:
        entry = source_map.get("".join(f"/{part}" for part in parts))
        if entry is not None:
            start = entry.key_start or entry.value_start
            return start.line + 1
        if not parts:
            return None
        parts.pop()


def issues_context(result: dict | None) -> dict:
    """What templates/workflows/_issues.html shows."""
    if result is None:
        return {"checked": False}
    lines = sorted({issue["line"] for issue in result["issues"] if issue["line"] and issue["severity"] == ERROR})
    return {
        "checked": True,
        "valid": result["valid"],
        "issues": result["issues"],
        "bad_lines": ",".join(str(line) for line in lines),
    }


# --- pages --------------------------------------------------------------------------


@login_required
@require_POST
def validate_source(request):
    _, result = check_source(request.POST.get("source", ""))
    return render(request, "workflows/_issues.html", issues_context(result))


@login_required
@require_http_methods(["GET", "POST"])
def workflow_new(request):
    if request.method == "POST":
        return _save_new(request, request.POST.get("source", ""))
    name = request.GET.get("example")
    if name:
        source = examples.source(name)
        if source is None:
            raise Http404("no such example")
    else:
        source = pretty(SKELETON)
    return _editor(request, source)


@login_required
@require_POST
def workflow_import(request):
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a JSON file to import.")
        return redirect("workflow-list")
    if upload.size > IMPORT_MAX_BYTES:
        messages.error(request, f"{upload.name} is {upload.size:,} bytes; at most {IMPORT_MAX_BYTES:,} are accepted.")
        return redirect("workflow-list")
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        messages.error(request, f"{upload.name} is not UTF-8 text ({exc.reason} at byte {exc.start}).")
        return redirect("workflow-list")
    return _save_new(request, text)


@login_required
@require_http_methods(["GET", "POST"])
def workflow_edit(request, slug):
    workflow = get_workflow_for(request.user, slug)
    if request.method == "GET":
        latest = workflow.latest_version()
        return _editor(request, pretty(latest.definition if latest else {**SKELETON, "id": slug}), workflow)
    source = request.POST.get("source", "")
    try:
        saved = services.save_definition(services.Source(source), request.user, workflow=workflow)
    except services.DefinitionRefused as refused:
        return _editor(request, source, workflow, _refused_result(source, refused), status=400)
    if saved.created:
        messages.success(request, f"Saved version {saved.version.version}.")
    else:
        messages.info(request, f"No changes: nothing saved (the content is version {saved.version.version}).")
    return redirect("workflow-detail", slug=workflow.slug)


def _save_new(request, source: str):
    """Create the workflow the definition names, or add a version to it if it is one of yours."""
    try:
        saved = services.save_definition(services.Source(source), request.user, request.POST.get("team") or None)
    except services.DefinitionRefused as refused:
        return _editor(request, source, result=_refused_result(source, refused), status=400)
    slug, version = saved.workflow.slug, saved.version.version
    if not saved.created:
        messages.info(request, f"No changes: {slug} already holds this content (version {version}).")
    elif saved.new_workflow:
        messages.success(request, f"Created workflow {slug}.")
    else:
        messages.success(request, f"Saved version {version} of {slug}.")
    return redirect("workflow-detail", slug=slug)


def _refused_result(source: str, refused: services.DefinitionRefused) -> dict:
    """The validation result the editor shows for a refused save, each issue with its line."""
    # A value the reader refused (NaN, a lone surrogate) comes with a path: the text parsed, so map it to a line.
    parsed = refused.parsed or bool(refused.issues and refused.issues[0]["path"])
    return {"valid": False, "issues": with_lines(source, refused.issues, parsed=parsed)}


def _editor(request, source: str, workflow=None, result=None, status=200):
    user = request.user
    teams = Team.objects.all() if user.is_staff else user.teams.all()
    context = {
        "nav": "workflows",
        "workflow": workflow,
        "source": source,
        "line_count": source.count("\n") + 1,
        "examples": examples.names() if workflow is None else [],
        # A new workflow's team must be named when the user could mean several.
        "teams": list(teams) if workflow is None and len(teams) > 1 else [],
        "chosen_team": request.POST.get("team", ""),
        "latest": workflow.latest_version() if workflow else None,
        **issues_context(result),
    }
    return render(request, "workflows/editor.html", context, status=status)
