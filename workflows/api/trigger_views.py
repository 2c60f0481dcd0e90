"""REST endpoints for schedules and webhook triggers (/api/v1/schedules/, /api/v1/webhooks/).

Views stay thin: the model validates (Schedule.full_clean), `sync()` writes the
beat entry, WebhookTrigger.create()/rotate() make tokens. A user sees and
changes only the schedules and webhooks of their teams' workflows (others are
404, as everywhere); staff see all.
"""

import copy

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from workflows.api.serializers import StrictSerializerMixin
from workflows.models import Workflow
from workflows.triggers.models import Schedule, WebhookTrigger

ORDERINGS = {"id", "-id", "name", "-name", "created", "-created"}

ERROR = inline_serializer("TriggerError", {"detail": serializers.CharField(), "code": serializers.CharField()})
ERRORS = {
    401: OpenApiResponse(ERROR, description="not authenticated"),
    403: OpenApiResponse(ERROR, description="not authenticated (session) or not allowed"),
    404: OpenApiResponse(ERROR, description="no such object, or it belongs to another team"),
    429: OpenApiResponse(ERROR, description="throttled; see Retry-After"),
}
WRITE_ERRORS = {
    **ERRORS,
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="invalid fields: {field: [messages]}"),
    413: OpenApiResponse(ERROR, description="request body too large"),
}
LIST_PARAMETERS = [
    OpenApiParameter("workflow", str, description="only those of the workflow with this slug"),
    OpenApiParameter("enabled", bool, description="only enabled (true) or disabled (false) ones"),
    OpenApiParameter("ordering", str, enum=sorted(ORDERINGS), description="sort order (default: id)"),
]


class VisibleWorkflowField(serializers.SlugRelatedField):
    """A workflow slug; only the requesting user's workflows exist here."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        return Workflow.objects.visible_to(self.context["request"].user)


CREATED_BY_HELP = "username of the user who made it; null once that user is deleted"


class ScheduleSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    workflow = VisibleWorkflowField(help_text="slug of the workflow to run")
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text=CREATED_BY_HELP
    )
    last_run = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="id of the last run this started; null before the first"
    )

    class Meta:
        model = Schedule
        fields = [
            "id",
            "workflow",
            "name",
            "cron",
            "timezone",
            "inputs",
            "enabled",
            "created_by",
            "created",
            "updated",
            "last_fired",
            "last_run",
            "last_error",
        ]
        read_only_fields = ["created", "updated", "last_fired", "last_error"]
        # The model's own constraint check runs in validate() through full_clean.
        validators = []

    def validate(self, attrs):
        candidate = copy.copy(self.instance) if self.instance else Schedule()
        for name, value in attrs.items():
            setattr(candidate, name, value)
        try:
            candidate.full_clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs


class WebhookSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    workflow = VisibleWorkflowField(help_text="slug of the workflow a POST to the hook runs")
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text=CREATED_BY_HELP
    )

    class Meta:
        model = WebhookTrigger
        fields = ["id", "workflow", "name", "enabled", "token_prefix", "created_by", "created", "rotated", "last_used"]
        read_only_fields = ["token_prefix", "created", "rotated", "last_used"]


class WebhookWithTokenSerializer(WebhookSerializer):
    """The one response that carries the token: creation and rotation."""

    token = serializers.CharField(read_only=True, help_text="the secret; shown this once, stored only hashed")
    url = serializers.CharField(read_only=True, help_text="POST a JSON object (the run's inputs) here")

    class Meta(WebhookSerializer.Meta):
        fields = WebhookSerializer.Meta.fields + ["token", "url"]


def with_token(request, trigger: WebhookTrigger, token: str) -> dict:
    data = WebhookSerializer(trigger, context={"request": request}).data
    return {**data, "token": token, "url": request.build_absolute_uri(trigger.url_path(token))}


class TriggerViewSetMixin:
    permission_classes = [IsAuthenticated]
    model = None

    def get_queryset(self):
        queryset = self.model.objects.visible_to(self.request.user).select_related("workflow", "created_by")
        params = self.request.query_params
        if params.get("workflow"):
            queryset = queryset.filter(workflow__slug=params["workflow"])
        if params.get("enabled") in ("true", "false"):
            queryset = queryset.filter(enabled=params["enabled"] == "true")
        elif params.get("enabled"):
            raise serializers.ValidationError({"enabled": ["expected true or false"]})
        ordering = params.get("ordering") or "id"
        if ordering not in ORDERINGS:
            raise serializers.ValidationError({"ordering": [f"expected one of {', '.join(sorted(ORDERINGS))}"]})
        return queryset.order_by(ordering)


@extend_schema_view(
    list=extend_schema(
        summary="List schedules", parameters=LIST_PARAMETERS, responses={200: ScheduleSerializer(many=True), **ERRORS}
    ),
    retrieve=extend_schema(summary="A schedule", responses={200: ScheduleSerializer, **ERRORS}),
    create=extend_schema(
        summary="Create a cron schedule",
        description="Runs the workflow's latest version with `inputs` at every `cron` time (5 fields) in "
        "`timezone`. Inputs are checked against the workflow's inputs now.",
        responses={201: ScheduleSerializer, **WRITE_ERRORS},
    ),
    update=extend_schema(summary="Replace a schedule", responses={200: ScheduleSerializer, **WRITE_ERRORS}),
    partial_update=extend_schema(
        summary="Change a schedule (e.g. enabled=false pauses it)", responses={200: ScheduleSerializer, **WRITE_ERRORS}
    ),
    destroy=extend_schema(summary="Delete a schedule", responses={204: None, **ERRORS}),
)
class ScheduleViewSet(TriggerViewSetMixin, viewsets.ModelViewSet):
    model = Schedule
    serializer_class = ScheduleSerializer

    def perform_create(self, serializer):
        with transaction.atomic():
            serializer.save(created_by=self.request.user).sync()

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.save().sync()

    def perform_destroy(self, instance):
        with transaction.atomic():
            instance.delete()


@extend_schema_view(
    list=extend_schema(
        summary="List webhook triggers",
        parameters=LIST_PARAMETERS,
        responses={200: WebhookSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="A webhook trigger (without its token)", responses={200: WebhookSerializer, **ERRORS}
    ),
    create=extend_schema(
        summary="Create a webhook trigger",
        description="The response holds the token and the hook's URL: the only time they are shown.",
        responses={201: WebhookWithTokenSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Rename, enable or disable a webhook trigger", responses={200: WebhookSerializer, **WRITE_ERRORS}
    ),
    destroy=extend_schema(summary="Delete a webhook trigger", responses={204: None, **ERRORS}),
)
class WebhookTriggerViewSet(
    TriggerViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    model = WebhookTrigger
    serializer_class = WebhookSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        trigger, token = WebhookTrigger.create(user=request.user, **serializer.validated_data)
        return Response(with_token(request, trigger, token), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rotate a webhook's token",
        description="The old token stops working at once; the response shows the new one, once.",
        request=None,
        responses={200: WebhookWithTokenSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        trigger = self.get_object()
        token = trigger.rotate()
        return Response(with_token(request, trigger, token))


def register(router) -> None:
    """Add these endpoints to the API's router (workflows/api/urls.py)."""
    router.register("schedules", ScheduleViewSet, basename="schedule")
    router.register("webhooks", WebhookTriggerViewSet, basename="webhook")
