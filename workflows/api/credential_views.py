"""/api/v1/credentials/: a team's credentials (issue 20). Values are write-only: no answer ever holds one.

Scoped as workflows are: a user sees and changes their teams' credentials,
another team's is a 404; staff see all. A PATCH with `values` rotates them
(the fields given are replaced, the others kept). The rules and the audit
are the actions' (workflows/credentials/actions.py).
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from workflows.api.serializers import StrictSerializerMixin, ordering_field
from workflows.credentials import actions
from workflows.credentials.models import Credential
from workflows.credentials.types import TYPES

VALUES_HELP = "the type's fields (GET /api/v1/credentials/types/); write-only: never shown again"


class CredentialSerializer(serializers.ModelSerializer):
    team = serializers.StringRelatedField(help_text="the owning team's name")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    settings = serializers.SerializerMethodField(help_text="the values of the fields that are not secret")
    fields_set = serializers.SerializerMethodField(help_text="the names of the fields that have a value")

    class Meta:
        model = Credential
        fields = [
            "id",
            "team",
            "name",
            "kind",
            "description",
            "settings",
            "fields_set",
            "created_by",
            "created",
            "rotated",
        ]

    def get_settings(self, credential) -> dict[str, str]:
        return credential.settings()

    def get_fields_set(self, credential) -> list[str]:
        return credential.field_names()


class CredentialCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    team = serializers.CharField(required=False, help_text="the owning team's name (default: your only team)")
    name = serializers.CharField(max_length=100, help_text="what steps write in {{ secrets.NAME }}")
    kind = serializers.ChoiceField(choices=list(TYPES), help_text="the credential's type")
    description = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    values = serializers.DictField(child=serializers.CharField(), help_text=VALUES_HELP)


class CredentialChangeSerializer(StrictSerializerMixin, serializers.Serializer):
    description = serializers.CharField(required=False, allow_blank=True, max_length=300)
    values = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="rotate: these fields' new values (others kept)"
    )


class CredentialListQuerySerializer(serializers.Serializer):
    team = serializers.CharField(required=False, max_length=100, help_text="the owning team's name")
    kind = serializers.ChoiceField(choices=list(TYPES), required=False)
    ordering = ordering_field("name", "created", default="name")


TYPE_SCHEMA = inline_serializer(
    "CredentialType",
    {
        "kind": serializers.CharField(),
        "label": serializers.CharField(),
        "description": serializers.CharField(),
        "schema": serializers.JSONField(help_text="JSON Schema of the values"),
        "secret_fields": serializers.ListField(child=serializers.CharField()),
    },
    many=True,
)


def refused(exc: actions.CredentialRefused) -> serializers.ValidationError:
    return serializers.ValidationError({exc.field: [exc.message]})


@extend_schema(tags=["credentials"])
@extend_schema_view(
    retrieve=extend_schema(summary="A credential (never its secret values)", responses={200: CredentialSerializer}),
    destroy=extend_schema(summary="Delete a credential (steps naming it fail from now on)", responses={204: None}),
)
class CredentialViewSet(
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = CredentialSerializer
    queryset = Credential.objects.none()  # for the schema; get_queryset narrows to the user's teams
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return Credential.objects.visible_to(self.request.user).select_related("team", "created_by")

    @extend_schema(
        summary="Your teams' credentials",
        parameters=[CredentialListQuerySerializer],
        responses={200: CredentialSerializer(many=True)},
    )
    def list(self, request):
        query = CredentialListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        credentials = self.get_queryset().order_by(query.validated_data["ordering"], "id")
        if "team" in query.validated_data:
            credentials = credentials.filter(team__name=query.validated_data["team"])
        if "kind" in query.validated_data:
            credentials = credentials.filter(kind=query.validated_data["kind"])
        page = self.paginate_queryset(credentials)
        return self.get_paginated_response(CredentialSerializer(page, many=True).data)

    @extend_schema(
        summary="Create a credential",
        description="`values` are encrypted and never shown again: not here, not in any page, log or step.",
        request=CredentialCreateSerializer,
        responses={201: CredentialSerializer},
    )
    def create(self, request):
        body = CredentialCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            team = actions.team_for(request.user, data.get("team"))
            credential = actions.create(
                team, data["name"], data["kind"], data["values"], request.user, data["description"]
            )
        except actions.CredentialRefused as exc:
            raise refused(exc) from None
        return Response(CredentialSerializer(credential).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a credential's description, or rotate its values",
        request=CredentialChangeSerializer,
        responses={200: CredentialSerializer},
    )
    def partial_update(self, request, pk=None):
        credential = self.get_object()
        body = CredentialChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            if "values" in data:
                actions.rotate(credential, data["values"], request.user)
            if "description" in data:
                credential.description = data["description"]
                credential.save(update_fields=["description"])
        except actions.CredentialRefused as exc:
            raise refused(exc) from None
        return Response(CredentialSerializer(credential).data)

    def perform_destroy(self, instance):
        actions.delete(instance, self.request.user)

    @extend_schema(
        summary="The types of credential and their fields",
        responses={200: OpenApiResponse(TYPE_SCHEMA, description="every type")},
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def types(self, request):
        return Response(
            [
                {
                    "kind": kind,
                    "label": credential_type.label,
                    "description": credential_type.description,
                    "schema": credential_type.schema,
                    "secret_fields": sorted(credential_type.secret),
                }
                for kind, credential_type in TYPES.items()
            ]
        )


def register(router) -> None:
    """Add these endpoints to the API's router (workflows/api/urls.py)."""
    router.register("credentials", CredentialViewSet, basename="credential")
