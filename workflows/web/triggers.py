"""Placeholder until its page lands."""

from django.http import HttpResponse


def trigger_panel(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def schedule_create(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def schedule_change(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def webhook_create(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def webhook_change(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)
