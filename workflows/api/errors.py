"""Errors as `{"detail": ..., "code": ...}`, request bodies parsed defensively, bounded pages.

Every refusal is a 4xx naming the problem: too large (413), not JSON, not
UTF-8, nested too deep (400). Nothing a client sends should reach a 500.
"""

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

from workflows import outages
from workflows.definitions.strict_json import BodyError, check_declared_size, read_json

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


class KeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "the Idempotency-Key was used for a different request"
    default_code = "idempotency_key_reused"


class InvalidJSONValue(exceptions.ParseError):
    """A body value oaweb refuses (workflows/definitions/strict_json.py); the answer adds its `pointer` (RFC 6901)."""

    def __init__(self, detail: str, code: str, pointer: str):
        super().__init__(detail, code)
        self.extra = {"pointer": pointer}  # exception_handler adds these fields to the answer


def as_api_error(error: BodyError) -> exceptions.APIException:
    if error.status == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        return PayloadTooLarge(error.detail)
    if error.pointer is not None:
        return InvalidJSONValue(error.detail, error.code, error.pointer)
    return exceptions.ParseError(error.detail)


class SizeFirstNegotiation(DefaultContentNegotiation):
    """A body over the limit is a 413 whatever its content type (else a form body would be a 415)."""

    def select_parser(self, request, parsers):
        try:
            check_declared_size(request.META.get("CONTENT_LENGTH"))
        except BodyError as error:
            raise as_api_error(error) from None
        return super().select_parser(request, parsers)


class StrictJSONParser(BaseParser):
    """JSON only, read by workflows/definitions/strict_json.py: size, UTF-8, nesting and every value checked."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        try:
            return read_json(stream, request.META.get("CONTENT_LENGTH") if request is not None else None)
        except RequestDataTooBig:
            raise PayloadTooLarge() from None
        except BodyError as error:
            raise as_api_error(error) from None


def exception_handler(exc, context):
    if isinstance(exc, ValueError | DataError) and "NUL (0x00)" in str(exc):
        # PostgreSQL can't hold U+0000 in text: a query parameter carrying one is the client's error.
        exc = exceptions.ValidationError({"detail": "parameters may not contain NUL characters"})
    exc = as_unavailable(exc, context)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        # Every 503 is an outage the client should retry: say when (RFC 9110 §10.2.3).
        response.setdefault("Retry-After", str(outages.RETRY_AFTER_SECONDS))
    if isinstance(response.data, dict) and "detail" in response.data:
        code = getattr(exc, "default_code", "error")
        if isinstance(exc, exceptions.APIException):
            codes = exc.get_codes()
            code = codes if isinstance(codes, str) else code
        elif response.status_code == 404:
            code = "not_found"
        response.data = {"detail": str(response.data["detail"]), "code": code, **getattr(exc, "extra", {})}
    return response


def as_unavailable(exc, context):
    """Redis or the database unreachable is a 503 the client may retry, not a 500 (workflows/outages.py)."""
    service = outages.is_outage(exc)
    if service is None:
        return exc
    request = context.get("request")
    outages.note(service, exc, outages.where(request) if request is not None else "the API")
    return ServiceUnavailable(outages.detail(service))


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
