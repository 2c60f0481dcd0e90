"""The definition editor: new, edit, import, and validation as you type.

Saving is services.save_definition, as for the API and import_workflow:
the same validation, ownership and team rules; this module only turns a
refusal into issues shown on their lines. The page also carries what the
editor completes from the registry (completions.py); the issues carry their
JSON Pointers, which editor.js underlines in the text.

The editor posts its text as multipart/form-data, whose size is the text's
own (a URL-encoded form would triple quotes, braces and line breaks), and
Django refuses a form whose fields hold more than DATA_UPLOAD_MAX_MEMORY_SIZE
bytes. max_source_bytes() is the limit the page is given: editor.js neither
checks nor saves a text over it, and says why. A body over it anyway (no
script, a stale page) is answered 413 with that message (_size_first), not
RequestDataTooBig from the CSRF check.
"""

import re
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST
from json_source_map import calculate
from json_source_map.errors import BaseError as SourceMapError

from workflows import services
from workflows.definitions.issues import make_issue
from workflows.definitions.validation import ERROR, parse_definition, validate
from workflows.models import Team
from workflows.web import examples
from workflows.web.access import get_workflow_for
from workflows.web.completions import registry_completions
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
# Room in a form body for the fields sent with the source: the CSRF token, a team's name, the field names.
FORM_OVERHEAD_BYTES = 1024


# --- the size limit -------------------------------------------------------------------


def max_source_bytes() -> tuple[int, str]:
    """(the largest source the editor can send, in UTF-8 bytes with CR LF line breaks; the setting that sets it).

    The lesser of the definition limit and what Django reads of a form body.
    """
    limit, setting = settings.OAWEB_MAX_DEFINITION_BYTES, "OAWEB_MAX_DEFINITION_BYTES"
    body = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if body is not None and body - FORM_OVERHEAD_BYTES < limit:
        # DATA_UPLOAD_MAX_MEMORY_SIZE follows OAWEB_API_MAX_BODY_BYTES (oaweb/settings.py).
        limit, setting = max(body - FORM_OVERHEAD_BYTES, 1), "OAWEB_API_MAX_BODY_BYTES"
    return limit, setting


def size_text(size: int) -> str:
    """A size for people: 6.2 MB, 64.0 KB, 900 bytes (as editor.js writes it)."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size:,} bytes"


def too_large_result(sent: int | None, kept: bool = True) -> dict:
    """The validation result shown for a request too large to read: its size, the limit, and what to do."""
    limit, setting = max_source_bytes()
    size = f"{size_text(sent)} were sent" if sent else "more was sent"
    message = f"The document is too large: {size}; the limit is {size_text(limit)}. It was neither checked nor saved."
    if not kept:
        message += " The text could not be read back: your browser's Back button returns to it."
    issue = make_issue("too_large", message, suggestion=f"split the workflow into smaller ones, or raise {setting}")
    return {"valid": False, "issues": [{**issue.as_dict(), "line": None, "column": None}]}


def _size_first(too_large):
    """Answer a form body too large to read with `too_large(request, sent, *args, **kwargs)`, before the CSRF check.

    CsrfViewMiddleware reads request.POST, which raises RequestDataTooBig (a
    400, or the debug page) for a body over DATA_UPLOAD_MAX_MEMORY_SIZE: the
    view is exempt from the middleware and makes the same check itself once
    the size is known to be fine.
    """

    def decorate(view):
        protected = csrf_protect(view)

        @wraps(view)
        def checked(request, *args, **kwargs):
            if request.method == "POST":
                try:
                    request.POST  # noqa: B018 (reading it is the check)
                except RequestDataTooBig:
                    sent = request.META.get("CONTENT_LENGTH") or ""
                    return too_large(request, int(sent) if sent.isdigit() else None, *args, **kwargs)
            return protected(request, *args, **kwargs)

        return csrf_exempt(checked)

    return decorate


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
    at its nearest existing parent. A syntax error also gets its `column`
    (None for the others: the editor finds their spans from their paths).
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
        line = column = None
        match = _SYNTAX_AT_RE.search(issue["message"]) if issue["code"] == "invalid_json" else None
        if match:
            # No tree to find a pointer in: the editor underlines this column (editor.js).
            line, column = int(match.group(1)), int(match.group(2))
        elif source_map:
            line = _line_of(source_map, issue.get("path") or "")
        lined.append({**issue, "line": line, "column": column})
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


def _too_large_issues(request, sent):
    return render(request, "workflows/_issues.html", issues_context(too_large_result(sent)), status=413)


def _too_large_new(request, sent):
    return _editor(request, "", result=too_large_result(sent, kept=False), status=413)


def _too_large_edit(request, sent, slug):
    workflow = get_workflow_for(request.user, slug)
    return _editor(request, "", workflow, too_large_result(sent, kept=False), status=413)


@login_required
@require_POST
@_size_first(_too_large_issues)
def validate_source(request):
    _, result = check_source(request.POST.get("source", ""))
    return render(request, "workflows/_issues.html", issues_context(result))


@login_required
@require_http_methods(["GET", "POST"])
@_size_first(_too_large_new)
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
@_size_first(_too_large_edit)
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
    max_bytes, max_setting = max_source_bytes()
    unread = status == 413  # the form was too large to read: nothing of it can be shown again
    context = {
        "nav": "workflows",
        "workflow": workflow,
        "source": source,
        "line_count": source.count("\n") + 1,
        "examples": examples.names() if workflow is None else [],
        # A new workflow's team must be named when the user could mean several.
        "teams": list(teams) if workflow is None and len(teams) > 1 else [],
        "chosen_team": "" if unread else request.POST.get("team", ""),
        "latest": workflow.latest_version() if workflow else None,
        "max_source_bytes": max_bytes,
        "max_source_setting": max_setting,
        # Checking the empty editor would hide why the text isn't there.
        "check_on_load": not unread,
        "completions": registry_completions(),
        **issues_context(result),
    }
    return render(request, "workflows/editor.html", context, status=status)
