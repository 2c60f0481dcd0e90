"""/api/v1/alert-channels/, /alert-rules/, /alert-deliveries/ (issue 20): a team's alerts, as workflows are scoped.

A user sees and changes their teams' channels and rules and sees their
deliveries; another team's are a 404; staff see all. A webhook channel's
signing secret is in the answer to its creation only. The rules and the
audit are the actions' (workflows/alerts/actions.py).
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from workflows.alerts import actions
from workflows.alerts.models import AlertChannel, AlertDelivery, AlertRule, DeliveryStatus, RuleKind
from workflows.api.errors import Conflict
from workflows.api.schema import ERROR
from workflows.api.serializers import StrictSerializerMixin
from workflows.credentials.actions import CredentialRefused, team_for
from workflows.models import Workflow

CREATED_BY = {"slug_field": "username", "read_only": True, "allow_null": True}


class ChannelSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    team = serializers.CharField(required=False, write_only=True, help_text="owning team's name (default: yours)")
    team_name = serializers.CharField(source="team.name", read_only=True)
    url = serializers.URLField(required=False, write_only=True, max_length=2000, help_text="webhook, slack")
    target = serializers.CharField(read_only=True, help_text="where it sends: the URL's origin, or the addresses")
    created_by = serializers.SlugRelatedField(**CREATED_BY)

    class Meta:
        model = AlertChannel
        fields = ["id", "team", "team_name", "name", "kind", "url", "target", "recipients", "enabled"]
        fields += ["created_by", "created"]
        read_only_fields = ["created"]
        validators = []  # the unique (team, name) is the action's to check


class NewChannelSerializer(ChannelSerializer):
    secret = serializers.CharField(
        read_only=True, allow_null=True, help_text="webhook: the signing secret, shown this once (docs/alerts.md)"
    )

    class Meta(ChannelSerializer.Meta):
        fields = [*ChannelSerializer.Meta.fields, "secret"]


class VisibleWorkflowSlug(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        return Workflow.objects.visible_to(self.context["request"].user)


class VisibleChannel(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return AlertChannel.objects.visible_to(self.context["request"].user)


class RuleSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    team = serializers.CharField(required=False, write_only=True, help_text="owning team's name (default: yours)")
    team_name = serializers.CharField(source="team.name", read_only=True)
    workflow = VisibleWorkflowSlug(required=False, allow_null=True, help_text="a workflow's slug; null: all of them")
    channel = VisibleChannel(help_text="the id of one of the team's channels")
    created_by = serializers.SlugRelatedField(**CREATED_BY)

    class Meta:
        model = AlertRule
        fields = ["id", "team", "team_name", "name", "kind", "workflow", "threshold_seconds", "queue", "channel"]
        fields += ["enabled", "created_by", "created"]
        read_only_fields = ["created"]
        validators = []


class DeliverySerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.name", read_only=True)

    class Meta:
        model = AlertDelivery
        fields = ["id", "team", "rule", "channel", "event", "key", "run", "status", "attempts", "next_attempt_at"]
        fields += ["response_status", "response_body", "last_error", "payload", "created", "sent_at"]


class DeliveryListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DeliveryStatus.values, required=False)
    rule = serializers.IntegerField(required=False, min_value=1)
    channel = serializers.IntegerField(required=False, min_value=1)


def refused(exc) -> serializers.ValidationError:
    return serializers.ValidationError({exc.field: [exc.message]})


class TeamScopedViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    model = None

    def get_queryset(self):
        return self.model.objects.visible_to(self.request.user).select_related("team", "created_by").order_by("id")

    def team(self, data):
        try:
            return team_for(self.request.user, data.pop("team", None))
        except CredentialRefused as exc:
            raise refused(exc) from None


WRITE = {400: OpenApiResponse(description="invalid fields: {field: [messages]}")}


@extend_schema(tags=["alerts"])
@extend_schema_view(
    list=extend_schema(summary="Your teams' alert channels"),
    retrieve=extend_schema(summary="An alert channel"),
    create=extend_schema(summary="Create an alert channel", responses={201: NewChannelSerializer, **WRITE}),
    partial_update=extend_schema(summary="Change an alert channel (not its kind)"),
    destroy=extend_schema(
        summary="Delete an alert channel",
        responses={204: None, 409: OpenApiResponse(ERROR, description="rules use it")},
    ),
)
class ChannelViewSet(TeamScopedViewSet):
    model = AlertChannel
    serializer_class = ChannelSerializer
    queryset = AlertChannel.objects.none()

    def create(self, request, *args, **kwargs):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        try:
            channel, secret = actions.create_channel(self.team(data), request.user, **data)
        except actions.AlertRefused as exc:
            raise refused(exc) from None
        answer = {**ChannelSerializer(channel, context=self.get_serializer_context()).data, "secret": secret}
        return Response(answer, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("team", None)  # a channel stays with its team
        try:
            actions.change_channel(serializer.instance, self.request.user, **data)
        except actions.AlertRefused as exc:
            raise refused(exc) from None

    def perform_destroy(self, instance):
        try:
            actions.delete_channel(instance, self.request.user)
        except actions.AlertRefused as exc:
            raise Conflict(exc.message) from None


@extend_schema(tags=["alerts"])
@extend_schema_view(
    list=extend_schema(summary="Your teams' alert rules"),
    retrieve=extend_schema(summary="An alert rule"),
    create=extend_schema(
        summary="Create an alert rule",
        description="kinds: " + ", ".join(f"`{kind}` ({label})" for kind, label in RuleKind.choices),
        responses={201: RuleSerializer, **WRITE},
    ),
    partial_update=extend_schema(summary="Change an alert rule"),
    destroy=extend_schema(summary="Delete an alert rule", responses={204: None}),
)
class RuleViewSet(TeamScopedViewSet):
    model = AlertRule
    serializer_class = RuleSerializer
    queryset = AlertRule.objects.none()

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        team = self.team(data)
        try:
            serializer.instance = actions.create_rule(team, self.request.user, **data)
        except actions.AlertRefused as exc:
            raise refused(exc) from None

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("team", None)
        try:
            actions.change_rule(serializer.instance, self.request.user, **data)
        except actions.AlertRefused as exc:
            raise refused(exc) from None

    def perform_destroy(self, instance):
        actions.delete_rule(instance, self.request.user)


@extend_schema(tags=["alerts"])
@extend_schema_view(
    list=extend_schema(
        summary="Alert deliveries, newest first",
        parameters=[DeliveryListQuerySerializer],
        responses={200: DeliverySerializer(many=True)},
    ),
    retrieve=extend_schema(summary="An alert delivery, with its body and outcome"),
)
class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = DeliverySerializer
    queryset = AlertDelivery.objects.none()

    def get_queryset(self):
        deliveries = AlertDelivery.objects.visible_to(self.request.user).select_related("team")
        if self.action == "list":
            query = DeliveryListQuerySerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            for name, value in query.validated_data.items():
                deliveries = deliveries.filter(**{name if name == "status" else f"{name}_id": value})
        return deliveries.order_by("-created", "-id")


def register(router) -> None:
    """Add these endpoints to the API's router (workflows/api/urls.py)."""
    router.register("alert-channels", ChannelViewSet, basename="alert-channel")
    router.register("alert-rules", RuleViewSet, basename="alert-rule")
    router.register("alert-deliveries", DeliveryViewSet, basename="alert-delivery")
