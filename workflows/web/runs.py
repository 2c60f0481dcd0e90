"""Placeholder until its page lands."""

from django.http import HttpResponse


def run_list(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def run_detail(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def step_detail(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def run_cancel(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def run_rerun(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)
