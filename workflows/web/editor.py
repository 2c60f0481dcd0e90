"""Placeholder until its page lands."""

from django.http import HttpResponse


def workflow_new(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def workflow_import(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def validate_source(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def workflow_edit(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)
