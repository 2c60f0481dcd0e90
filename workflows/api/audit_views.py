"""/api/v1/audit/ (issue 20): the audit log, newest first.

Staff read every event; anyone else reads the events of their teams and
their own (their API tokens belong to no team). Read-only: the log is
append-only (workflows/audit/models.py).
"""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from workflows.audit.models import ACTIONS, AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    user = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    token = serializers.SlugRelatedField(
        slug_field="prefix", read_only=True, allow_null=True, help_text="the API token's prefix, when one acted"
    )

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "team", "user", "token", "actor", "via", "action", "target_type", "target_id"]
        fields += ["target_label", "details"]


class AuditQuerySerializer(serializers.Serializer):
    team = serializers.CharField(required=False, max_length=100, help_text="a team's name")
    user = serializers.CharField(required=False, max_length=150, help_text="who acted (a username)")
    action = serializers.ChoiceField(choices=sorted(ACTIONS), required=False)
    since = serializers.DateTimeField(required=False, help_text="events at or after this time")


def filtered(events, query: dict):
    """The events the query asks for (the page and the API filter alike)."""
    if query.get("team"):
        events = events.filter(team__name=query["team"])
    if query.get("user"):
        events = events.filter(user__username=query["user"])
    if query.get("action"):
        events = events.filter(action=query["action"])
    if query.get("since"):
        events = events.filter(at__gte=query["since"])
    return events


@extend_schema(tags=["audit"])
@extend_schema_view(
    list=extend_schema(
        summary="The audit log: who did what and when, newest first",
        description="Staff: every event. Others: their teams' events and their own.",
        parameters=[AuditQuerySerializer],
    ),
    retrieve=extend_schema(summary="One audit event"),
)
class AuditViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AuditEventSerializer
    queryset = AuditEvent.objects.none()

    def get_queryset(self):
        events = AuditEvent.objects.visible_to(self.request.user).select_related("team", "user", "token")
        if self.action == "list":
            query = AuditQuerySerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            events = filtered(events, query.validated_data)
        return events.order_by("-at", "-id")


def register(router) -> None:
    """Add this endpoint to the API's router (workflows/api/urls.py)."""
    router.register("audit", AuditViewSet, basename="audit")
