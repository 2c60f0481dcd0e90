"""OpenAPI generation: every operation documents the errors any request to it can get."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ERROR = inline_serializer("Error", {"detail": serializers.CharField(), "code": serializers.CharField()})
COMMON_ERRORS = {
    "400": OpenApiResponse(
        OpenApiTypes.OBJECT, description="invalid parameters or body: {field: [messages]} or {detail, code}"
    ),
    "401": OpenApiResponse(ERROR, description="not authenticated"),
    "403": OpenApiResponse(ERROR, description="not allowed (a session write without its CSRF token)"),
    "404": OpenApiResponse(ERROR, description="no such object, or it belongs to another team"),
    "429": OpenApiResponse(ERROR, description="throttled; see Retry-After"),
}
WRITE_ERRORS = {"413": OpenApiResponse(ERROR, description="request body too large")}


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = {**COMMON_ERRORS, **(WRITE_ERRORS if self.method in ("POST", "PUT", "PATCH") else {})}
        for code, response in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses
