"""The component registry: the list, and one component with its schemas and where it is used."""

import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from registry.catalog import KINDS
from registry.models import Component
from workflows.definitions.format import component_of
from workflows.models import Workflow
from workflows.web.htmx import wants_fragment
from workflows.web.workflow_pages import latest_versions

PAGE_SIZE = 50


@login_required
@require_GET
@vary_on_headers("HX-Request")
def component_list(request):
    q = request.GET.get("q", "").strip()
    kind = request.GET.get("kind", "")
    components = Component.objects.order_by("name")
    if q:
        components = components.filter(Q(name__icontains=q) | Q(description__icontains=q))
    if kind in KINDS:
        components = components.filter(kind=kind)
    page = Paginator(components, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"nav": "components", "page": page, "q": q, "kind": kind, "kinds": KINDS, "query": query.urlencode()}
    template = "components/_list.html" if wants_fragment(request) else "components/list.html"
    return render(request, template, context)


@login_required
@require_GET
def component_detail(request, name):
    component = get_object_or_404(Component, name=name)
    context = {
        "nav": "components",
        "component": component,
        "input_schema": json.dumps(component.input_schema, indent=2, ensure_ascii=False),
        "output_schema": json.dumps(component.output_schema, indent=2, ensure_ascii=False),
        "usage": usage(request.user, component.name),
    }
    return render(request, "components/detail.html", context)


def usage(user, name: str) -> list[tuple[Workflow, list[str]]]:
    """The workflows `user` sees whose latest version has steps calling `name`, with those steps' ids."""
    found = []
    for version in latest_versions(Workflow.objects.visible_to(user)).order_by("workflow__slug"):
        steps = version.definition.get("steps") if isinstance(version.definition, dict) else None
        step_ids = [
            step.get("id")
            for step in steps or []
            if isinstance(step, dict) and component_of(step) == name and isinstance(step.get("id"), str)
        ]
        if step_ids:
            found.append((version.workflow, step_ids))
    return found
