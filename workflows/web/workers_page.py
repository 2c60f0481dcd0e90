"""Placeholder until its page lands."""

from django.http import HttpResponse


def worker_list(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)
