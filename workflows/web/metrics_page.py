"""Placeholder until its page lands."""

from django.http import HttpResponse


def metrics_page(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)
