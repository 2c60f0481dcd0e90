"""The audit page, for staff: every event, newest first, filtered by team, user and action.

Other users get 403: they read their teams' events through the API
(/api/v1/audit/, workflows/api/audit_views.py). Paged by offset, PAGE at a time.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from workflows.audit.models import ACTIONS, AuditEvent
from workflows.models import Team

PAGE = 100


def offset_of(request) -> int:
    raw = request.GET.get("offset", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else 0


@login_required
@require_GET
def audit_page(request):
    if not request.user.is_staff:
        raise PermissionDenied("the audit log is for staff")
    selected = {key: request.GET.get(key, "") for key in ("team", "user", "action")}
    events = AuditEvent.objects.select_related("team", "user").order_by("-at", "-id")
    if selected["team"]:
        events = events.filter(team__name=selected["team"])
    if selected["user"]:
        events = events.filter(user__username=selected["user"])
    if selected["action"]:
        events = events.filter(action=selected["action"])
    offset = offset_of(request)
    page = list(events[offset : offset + PAGE + 1])
    context = {
        "nav": "audit",
        "events": page[:PAGE],
        "selected": selected,
        "teams": Team.objects.values_list("name", flat=True),
        "users": get_user_model().objects.order_by("username").values_list("username", flat=True),
        "actions": sorted(ACTIONS.items()),
        "previous": max(0, offset - PAGE) if offset else None,
        "next": offset + PAGE if len(page) > PAGE else None,
    }
    return render(request, "audit/list.html", context)
