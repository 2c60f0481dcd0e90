"""The API's views: access check, input check, one call into the models or the engine."""

from datetime import timedelta

from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from registry.models import Component
from workflows import services
from workflows.api import serializers as api
from workflows.api import step_facts
from workflows.api.errors import Conflict, KeyReused
from workflows.api.schema import ERROR
from workflows.definitions.validation import validate
from workflows.execution import idempotency, step_logs
from workflows.execution.models import Run, StepAttempt, StepRun
from workflows.metrics import reports
from workflows.models import Workflow
from workflows.tokens import ApiToken

# Every operation also documents the common errors (workflows/api/schema.py).
INVALID_DEFINITION = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="an invalid definition: the validation result object ({valid, issues}); or invalid fields",
)

NEW_VERSION_SCHEMA = {
    "summary": "Store a new version (when the content changed)",
    "request": api.DefinitionSerializer,
    "responses": {
        200: OpenApiResponse(api.WorkflowSerializer, description="identical content: nothing new stored"),
        201: api.WorkflowSerializer,
        400: INVALID_DEFINITION,
    },
}


def _refused(refused: services.DefinitionRefused) -> Response:
    """The API's answer to a definition the service refused."""
    if refused.code == services.TAKEN:
        raise Conflict(str(refused))
    if refused.code == services.TEAM:
        raise serializers.ValidationError({"team": [str(refused)]})
    if refused.code == services.ID_MISMATCH:
        raise serializers.ValidationError({"definition": [str(refused)]})
    return Response(refused.result, status=status.HTTP_400_BAD_REQUEST)


def _query(serializer_class, request):
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


def _ordered(queryset, ordering: str):
    """Ordered by the chosen field, then by id, so pages never overlap on ties."""
    return queryset.order_by(ordering, "-id" if ordering.startswith("-") else "id")


@extend_schema(tags=["components"])
@extend_schema(methods=["GET"], responses={200: api.ComponentSerializer})
class ComponentViewSet(viewsets.ReadOnlyModelViewSet):
    """The registered components (read-only: components are declared in code)."""

    queryset = Component.objects.all()
    serializer_class = api.ComponentSerializer
    lookup_field = "name"
    lookup_value_regex = r"[^/]+"

    @extend_schema(parameters=[api.ComponentListQuerySerializer], responses={200: api.ComponentSerializer(many=True)})
    def list(self, request):
        query = _query(api.ComponentListQuerySerializer, request)
        components = _ordered(Component.objects.all(), query["ordering"])
        if "kind" in query:
            components = components.filter(kind=query["kind"])
        if "enabled" in query:
            components = components.filter(enabled=query["enabled"] == "true")
        if "q" in query:
            components = components.filter(Q(name__icontains=query["q"]) | Q(description__icontains=query["q"]))
        page = self.paginate_queryset(components)
        return self.get_paginated_response(api.ComponentSerializer(page, many=True).data)


@extend_schema(tags=["workflows"])
class WorkflowViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    serializer_class = api.WorkflowSerializer
    lookup_field = "slug"

    def get_queryset(self):
        return Workflow.objects.visible_to(self.request.user).select_related("team").order_by("slug")

    @extend_schema(
        summary="Create a workflow, or add a version to one of yours",
        request=api.DefinitionSerializer,
        responses={
            201: api.WorkflowSerializer,
            200: OpenApiResponse(api.WorkflowSerializer, description="identical content: nothing new stored"),
            400: INVALID_DEFINITION,
            409: OpenApiResponse(ERROR, description="the slug belongs to another team's workflow"),
        },
    )
    def create(self, request):
        body = api.DefinitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            saved = services.save_definition(
                body.validated_data["definition"], request.user, body.validated_data.get("team")
            )
        except services.DefinitionRefused as refused:
            return _refused(refused)
        return Response(
            api.WorkflowSerializer(saved.workflow).data, status=status.HTTP_201_CREATED if saved.created else 200
        )

    @extend_schema(**NEW_VERSION_SCHEMA)
    def update(self, request, slug=None):
        workflow = self.get_object()
        body = api.DefinitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        definition = body.validated_data["definition"]
        try:
            if isinstance(definition, dict):  # the URL and the body must agree, whatever else is wrong
                services.check_same_id(definition, workflow)
            saved = services.save_definition(definition, request.user, workflow=workflow)
        except services.DefinitionRefused as refused:
            return _refused(refused)
        return Response(
            api.WorkflowSerializer(saved.workflow).data, status=status.HTTP_201_CREATED if saved.created else 200
        )

    @extend_schema(**{**NEW_VERSION_SCHEMA, "description": "The same as PUT: the body is a whole definition."})
    def partial_update(self, request, slug=None):
        return self.update(request, slug=slug)

    @extend_schema(responses={200: api.WorkflowSerializer})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(parameters=[api.WorkflowListQuerySerializer], responses={200: api.WorkflowSerializer(many=True)})
    def list(self, request):
        query = _query(api.WorkflowListQuerySerializer, request)
        workflows = _ordered(self.get_queryset(), query["ordering"])
        if "team" in query:
            workflows = workflows.filter(team__name=query["team"])
        if "q" in query:
            workflows = workflows.filter(Q(slug__icontains=query["q"]) | Q(name__icontains=query["q"]))
        page = self.paginate_queryset(workflows)
        return self.get_paginated_response(api.WorkflowSerializer(page, many=True).data)

    @extend_schema(
        summary="Delete a workflow that has no runs, with its versions, schedules and webhooks",
        responses={204: None, 409: OpenApiResponse(ERROR, description="it has runs: archive it instead")},
    )
    def destroy(self, request, *args, **kwargs):
        try:
            services.delete_workflow(self.get_object())
        except services.WorkflowRefused as refused:
            raise Conflict(str(refused)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)

    # --- archiving (issue 18): an archived workflow starts no runs; its runs stay readable ---
    @extend_schema(
        summary="Archive: no new runs (its runs stay readable)", request=None, responses={200: api.WorkflowSerializer}
    )
    @action(detail=True, methods=["post"])
    def archive(self, request, slug=None):
        workflow = self.get_object()
        services.archive(workflow)
        return Response(api.WorkflowSerializer(workflow).data)

    @extend_schema(summary="Unarchive: runs start again", request=None, responses={200: api.WorkflowSerializer})
    @action(detail=True, methods=["post"])
    def unarchive(self, request, slug=None):
        workflow = self.get_object()
        services.unarchive(workflow)
        return Response(api.WorkflowSerializer(workflow).data)

    @extend_schema(
        summary="A workflow's versions, newest first",
        parameters=[api.VersionListQuerySerializer],
        responses={200: api.VersionSummarySerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def versions(self, request, slug=None):
        workflow = self.get_object()
        query = _query(api.VersionListQuerySerializer, request)
        page = self.paginate_queryset(_ordered(workflow.versions.all(), query["ordering"]))
        return self.get_paginated_response(api.VersionSummarySerializer(page, many=True).data)

    @extend_schema(summary="One version with its definition", responses={200: api.VersionSerializer})
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<label>[^/]+)")
    def version(self, request, slug=None, label=None):
        workflow = self.get_object()
        return Response(api.VersionSerializer(get_object_or_404(workflow.versions, version=label)).data)


@extend_schema(
    tags=["workflows"],
    summary="Validate a definition without saving it",
    request=OpenApiTypes.OBJECT,
    parameters=[OpenApiParameter("mode", str, enum=["normal", "strict"], description="strict: warnings fail too")],
    responses={200: api.ValidationResultSerializer},
)
@api_view(["POST"])
def validate_definition(request):
    mode = _query(api.ValidateQuerySerializer, request)["mode"]
    return Response(validate(request.data, mode=mode))


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="1-255 printable ASCII characters; a retry with the same key returns the first run",
)


def _idempotency_key(request) -> str | None:
    try:
        return idempotency.read_key(request.headers.get("Idempotency-Key"))
    except idempotency.BadKey as exc:
        raise serializers.ValidationError({"Idempotency-Key": [str(exc)]}) from None


@extend_schema(tags=["runs"])
class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    def get_queryset(self):
        runs = Run.objects.visible_to(self.request.user).select_related("workflow", "version")
        if self.action == "retrieve":
            # A map's items are not inlined (a map may have 10,000): the items endpoint pages them.
            runs = runs.prefetch_related(Prefetch("steps", StepRun.objects.filter(map_step__isnull=True)))
        return runs

    def get_serializer_class(self):
        return api.RunDetailSerializer if self.action == "retrieve" else api.RunSerializer

    @extend_schema(
        summary="Runs, filtered",
        parameters=[api.RunListQuerySerializer],
        responses={200: api.RunSerializer(many=True)},
    )
    def list(self, request):
        query = _query(api.RunListQuerySerializer, request)
        runs = _ordered(self.get_queryset(), query["ordering"])
        if "workflow" in query:
            runs = runs.filter(workflow__slug=query["workflow"])
        if "status" in query:
            runs = runs.filter(status=query["status"])
        if "created_after" in query:
            runs = runs.filter(created__gte=query["created_after"])
        if "created_before" in query:
            runs = runs.filter(created__lt=query["created_before"])
        page = self.paginate_queryset(runs)
        return self.get_paginated_response(api.RunSerializer(page, many=True).data)

    @extend_schema(
        summary="A run with its steps",
        description="A map's items are not in `steps`: its step has their counts (`map`), "
        "`GET /api/v1/runs/{id}/steps/{step}/items/` lists them.",
        responses={200: api.RunDetailSerializer},
    )
    def retrieve(self, request, *args, **kwargs):
        run = self.get_object()
        facts = step_facts.facts_for(list(run.steps.all()), step_facts.compiled_version(run.version))
        context = {**self.get_serializer_context(), "step_facts": facts}
        return Response(api.RunDetailSerializer(run, context=context).data)

    @extend_schema(
        summary="A map step's items, in order",
        description="Each item is a step run of its own (its id for `GET /api/v1/steps/{id}/`, its `step_id` "
        '"M[3]" for the step endpoints under the run). 404 for a step that is not a map.',
        parameters=[
            api.ItemListQuerySerializer,
            OpenApiParameter("step", str, OpenApiParameter.PATH, description="the map step's id in the workflow"),
        ],
        responses={200: api.ItemSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], url_path=r"steps/(?P<step>[^/]+)/items")
    def items(self, request, pk=None, step=None):
        run = self.get_object()
        version = step_facts.compiled_version(run.version)
        if not step_facts.is_map(version, step):
            raise NotFound(f"run {run.pk} has no map step {step!r}")
        query = _query(api.ItemListQuerySerializer, request)
        map_step = get_object_or_404(StepRun.objects.filter(run=run).only("pk"), step_id=step)
        items = StepRun.objects.filter(map_step=map_step).order_by("item_index")
        if "status" in query:
            items = items.filter(status=query["status"])
        page = self.paginate_queryset(items)
        context = {**self.get_serializer_context(), "step_facts": step_facts.facts_for(page, version)}
        return self.get_paginated_response(api.ItemSerializer(page, many=True, context=context).data)

    @extend_schema(
        summary="Start a run",
        description=(
            "With an `Idempotency-Key` header, the same key (for the same request) within 24 hours "
            "returns the run it started, with `Idempotent-Replayed: true`, never a second run."
        ),
        request=api.RunStartSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: api.RunSerializer,
            409: OpenApiResponse(ERROR, description="the workflow is archived"),
            422: OpenApiResponse(ERROR, description="the Idempotency-Key was used for a different request"),
            503: OpenApiResponse(ERROR, description="Redis is unreachable; nothing was written"),
        },
    )
    def create(self, request):
        key = _idempotency_key(request)
        body = api.RunStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        workflow = get_object_or_404(Workflow.objects.visible_to(request.user), slug=data["workflow"])
        target = workflow
        if data.get("version"):
            target = get_object_or_404(workflow.versions, version=data["version"])

        def start():
            return services.start(
                target, data["inputs"], user=request.user, priority=data.get("priority"), trigger="api"
            )

        try:
            run, replayed = idempotency.start_once(f"user:{request.user.pk}", key, request.data, start)
        except services.WorkflowArchived as refused:
            raise Conflict(str(refused)) from None
        except services.RunRefused as refused:
            raise serializers.ValidationError({"inputs": [str(refused)], "issues": refused.issues}) from None
        except idempotency.KeyReused as exc:
            raise KeyReused(str(exc)) from None
        # Redis down (StateUnavailable) is answered by the exception handler as every outage is: 503, Retry-After.
        response = Response(api.RunSerializer(run).data, status=status.HTTP_201_CREATED)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    @extend_schema(
        summary="Cancel a run (running steps are told to stop)",
        request=None,
        responses={
            200: api.RunSerializer,
            409: OpenApiResponse(ERROR, description="the run had finished"),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = self.get_object()
        if not services.cancel(run):
            raise Conflict(f"run {run.pk} has already finished ({run.status})")
        run.refresh_from_db()
        return Response(api.RunSerializer(run).data)

    @extend_schema(
        summary="Re-run a failed or cancelled run from where it stopped",
        request=None,
        responses={
            201: api.RunSerializer,
            409: OpenApiResponse(ERROR, description="only failed or cancelled runs can be re-run"),
            503: OpenApiResponse(ERROR, description="Redis is unreachable; nothing was written"),
        },
    )
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        run = self.get_object()
        try:
            new = services.rerun(run, user=request.user)
        except services.RunRefused as refused:
            raise Conflict(str(refused)) from None
        return Response(api.RunSerializer(new).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["runs"], summary="A step of a run, with every attempt")
@extend_schema(methods=["GET"], responses={200: api.StepDetailSerializer})
class StepViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = api.StepDetailSerializer

    def get_queryset(self):
        visible = Run.objects.visible_to(self.request.user)
        # The attempts' logs (up to OAWEB_STEP_LOG_BYTES each) are served by the logs endpoint, not here.
        return StepRun.objects.filter(run__in=visible).prefetch_related(
            Prefetch("attempts", StepAttempt.objects.defer("log"))
        )


@extend_schema(tags=["tokens"])
class TokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Your API tokens. The secret is shown once, in the answer to the POST that creates it."""

    serializer_class = api.TokenSerializer
    queryset = ApiToken.objects.none()  # for the schema; get_queryset narrows to the user's

    def get_queryset(self):
        return ApiToken.objects.active().filter(user=self.request.user)

    @extend_schema(parameters=[api.TokenListQuerySerializer], responses={200: api.TokenSerializer(many=True)})
    def list(self, request):
        query = _query(api.TokenListQuerySerializer, request)
        page = self.paginate_queryset(_ordered(self.get_queryset(), query["ordering"]))
        return self.get_paginated_response(api.TokenSerializer(page, many=True).data)

    @extend_schema(
        summary="Issue a token",
        request=api.TokenCreateSerializer,
        responses={201: api.NewTokenSerializer},
    )
    def create(self, request):
        body = api.TokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, secret = ApiToken.issue(request.user, body.validated_data["name"])
        return Response({**api.TokenSerializer(token).data, "token": secret}, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Revoke a token (at once)", responses={204: None})
    def destroy(self, request, *args, **kwargs):
        self.get_object().revoke()
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=["metrics"],
    summary="Counts and durations over the last hours",
    parameters=[api.MetricsQuerySerializer],
    responses={200: api.MetricsSummarySerializer},
)
@api_view(["GET"])
def metrics_summary(request):
    query = _query(api.MetricsQuerySerializer, request)
    since = query.get("since") or timezone.now() - timedelta(hours=query.get("hours", 24))
    runs = Run.objects.visible_to(request.user).filter(created__gte=since)
    steps = StepRun.objects.filter(run__in=runs)
    durations = sorted(
        (finished - started).total_seconds()
        for started, finished in runs.filter(started__isnull=False, finished__isnull=False).values_list(
            "started", "finished"
        )
    )
    return Response(
        {
            "since": since,
            "runs": dict(runs.values_list("status").annotate(n=Count("id")).order_by()),
            "steps": dict(steps.values_list("status").annotate(n=Count("id")).order_by()),
            "run_seconds_p50": _percentile(durations, 0.5),
            "run_seconds_p95": _percentile(durations, 0.95),
            # From the rollups, so runs already pruned still count.
            "finished": reports.finished_since(request.user, since),
        }
    )


def _percentile(ordered: list[float], fraction: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@extend_schema(
    tags=["runs"],
    summary="A step's log, per attempt",
    description=(
        "What the step's component wrote with `context.log(...)` or Python's `logging`, stored with each "
        "attempt when it ends (a running attempt's lines show live on the run page)."
    ),
    parameters=[api.StepLogQuerySerializer],
    responses={200: api.StepLogSerializer},
)
@api_view(["GET"])
def step_log(request, id, step):
    run = get_object_or_404(Run.objects.visible_to(request.user).only("pk"), pk=id)
    step_run = get_object_or_404(StepRun.objects.filter(run=run).only("pk"), step_id=step)
    query = _query(api.StepLogQuerySerializer, request)
    attempts = [
        {"number": number, "status": state, "lines": lines}
        for number, state, lines in step_logs.stored(step_run.pk, query.get("attempt"))
    ]
    return Response(api.StepLogSerializer({"run": run.pk, "step": step, "attempts": attempts}).data)
