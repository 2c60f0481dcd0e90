"""The dashboard: what is running, what finished in the last hour, which workers are up."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from workflows.web import live


@login_required
@require_GET
def dashboard(request):
    return render(request, "dashboard/page.html", live.dashboard_context(request.user))
