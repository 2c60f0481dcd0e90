"""Placeholder until its page lands."""

from django.http import HttpResponse


def component_list(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def component_detail(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)
