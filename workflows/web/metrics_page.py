"""The metrics page: throughput, latency, errors, queues and workers over 1 h, 24 h or 7 d.

Numbers come from workflows/metrics/reports.py (rollups and live state); a user sees
the workflows of their teams (staff: all); queues and workers are global.
An htmx request (the range links, the 10 s refresh) gets the panel alone.
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from workflows.metrics.reports import DEFAULT_RANGE, RANGES, report
from workflows.web.htmx import wants_fragment


@login_required
@require_GET
def metrics_page(request):
    range_key = request.GET.get("range", DEFAULT_RANGE)
    if range_key not in RANGES:
        range_key = DEFAULT_RANGE
    context = {"nav": "metrics", "report": report(request.user, range_key)}
    template = "metrics/_panel.html" if wants_fragment(request) else "metrics/page.html"
    return render(request, template, context)
