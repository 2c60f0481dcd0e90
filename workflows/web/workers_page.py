"""The workers page: every worker process, its queues and load, and whether it still beats.

Workers are global (they serve every team): any logged-in user sees them.
An htmx request (the refresh every few seconds) gets the table alone.
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from workflows.execution.workers import lost_after
from workflows.metrics.reports import worker_rows
from workflows.web.htmx import wants_fragment


@login_required
@require_GET
def worker_list(request):
    workers = worker_rows()
    context = {
        "nav": "workers",
        "workers": workers,
        "online": sum(1 for worker in workers if not worker.is_lost),
        "lost_after": lost_after().total_seconds(),
    }
    template = "workers/_table.html" if wants_fragment(request) else "workers/page.html"
    return render(request, template, context)
