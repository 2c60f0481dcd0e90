"""Placeholder until its page lands."""

from django.http import HttpResponse


def workflow_list(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def workflow_detail(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def version_diff(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def version_export(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def start_run(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)

