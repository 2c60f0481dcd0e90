"""Placeholder until its page lands."""

from django.http import HttpResponse


def token_list(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def token_revoke(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)
