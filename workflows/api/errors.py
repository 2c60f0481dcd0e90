"""Errors as `{"detail": ..., "code": ...}`, request bodies parsed defensively, bounded pages.

Every refusal is a 4xx naming the problem: too large (413), not JSON, not
UTF-8, nested too deep (400). Nothing a client sends should reach a 500.
"""

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DataError
from django.http import JsonResponse
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error
from rest_framework import exceptions, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import BaseParser
from rest_framework.views import exception_handler as drf_exception_handler

from workflows.validation import nesting_exceeds

MAX_OFFSET = 1_000_000_000


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "the request body is too large"
    default_code = "too_large"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "a service oaweb needs is unreachable"
    default_code = "unavailable"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "conflict"
    default_code = "conflict"


def refuse_declared_oversize(request) -> None:
    """413 from the Content-Length alone, before anything reads the body."""
    limit = settings.OAWEB_API_MAX_BODY_BYTES
    declared = request.META.get("CONTENT_LENGTH") if request is not None else None
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body is {declared} bytes; the limit is {limit}")


class SizeFirstNegotiation(DefaultContentNegotiation):
    """A body over the limit is a 413 whatever its content type (else a form body would be a 415)."""

    def select_parser(self, request, parsers):
        refuse_declared_oversize(request)
        return super().select_parser(request, parsers)


class StrictJSONParser(BaseParser):
    """JSON only, within OAWEB_API_MAX_BODY_BYTES, UTF-8, and nested no deeper than definitions may be."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.OAWEB_API_MAX_BODY_BYTES
        refuse_declared_oversize((parser_context or {}).get("request"))
        try:
            raw = stream.read(limit + 1) if stream is not None else b""
        except RequestDataTooBig:
            raise PayloadTooLarge(f"the request body is over the limit of {limit} bytes") from None
        if len(raw) > limit:
            raise PayloadTooLarge(f"the request body is over the limit of {limit} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"the body is not UTF-8 (byte {exc.start})") from None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise exceptions.ParseError(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        except RecursionError:
            raise exceptions.ParseError("the JSON body is nested too deeply") from None
        if nesting_exceeds(value, settings.OAWEB_MAX_DEFINITION_DEPTH + 4):
            raise exceptions.ParseError("the JSON body is nested too deeply")
        if holds_nul(value):
            raise exceptions.ParseError("strings may not contain NUL (\\u0000) characters")
        return value


def holds_nul(value) -> bool:
    """Whether any string (or key) holds U+0000, which PostgreSQL can't store in text or JSON."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def exception_handler(exc, context):
    if isinstance(exc, ValueError | DataError) and "NUL (0x00)" in str(exc):
        # PostgreSQL can't hold U+0000 in text: a query parameter carrying one is the client's error.
        exc = exceptions.ValidationError({"detail": "parameters may not contain NUL characters"})
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, dict) and "detail" in response.data:
        code = getattr(exc, "default_code", "error")
        if isinstance(exc, exceptions.APIException):
            codes = exc.get_codes()
            code = codes if isinstance(codes, str) else code
        elif response.status_code == 404:
            code = "not_found"
        response.data = {"detail": str(response.data["detail"]), "code": code}
    return response


class Pagination(LimitOffsetPagination):
    """`?limit=` (1..200, default 50) and `?offset=`; anything else is a 400, not a guess."""

    default_limit = 50
    max_limit = 200

    def get_limit(self, request):
        raw = request.query_params.get(self.limit_query_param)
        if raw is None:
            return self.default_limit
        return _bounded_int(raw, self.limit_query_param, 1, self.max_limit)

    def get_offset(self, request):
        raw = request.query_params.get(self.offset_query_param)
        if raw is None:
            return 0
        return _bounded_int(raw, self.offset_query_param, 0, MAX_OFFSET)


def _bounded_int(raw: str, name: str, low: int, high: int) -> int:
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise exceptions.ValidationError({name: [f"must be a whole number from {low} to {high}"]})
    return int(raw)


def not_found(request, exception=None):
    """404 for URLs that match nothing: JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "no such endpoint or object", "code": "not_found"}, status=404)
    return page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "internal error", "code": "error"}, status=500)
    return default_server_error(request)
