"""What the API reads and writes. Unknown fields are refused, never ignored."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from registry.catalog import KINDS
from registry.models import Component
from workflows.api import step_facts
from workflows.execution.models import Run, StepAttempt, StepRun
from workflows.execution.status import AttemptStatus, StepStatus
from workflows.models import Workflow, WorkflowVersion
from workflows.redaction import redact_data
from workflows.tokens import ApiToken


class StrictSerializerMixin:
    """A typo in a field name is a 400: it must not pass for a setting that was left out."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({name: ["unknown field"] for name in unknown})
        return super().to_internal_value(data)


class StrictSerializer(StrictSerializerMixin, serializers.Serializer):
    pass


class RedactedDataMixin:
    """Inputs, outputs and map items with URL credentials and tokens masked (workflows/redaction.py).

    Masked on the way out only: the database keeps them whole for later steps and re-runs.
    """

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in ("inputs", "outputs", "item"):  # item: a map's item is a part of another step's outputs
            if name in data:
                data[name] = redact_data(data[name])
        return data


class ComponentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Component
        fields = [
            "name",
            "version",
            "kind",
            "description",
            "input_schema",
            "output_schema",
            "queue",
            "timeout",
            "retry",
            "rate_limit",
            "tags",
            "enabled",
        ]


class VersionSerializer(serializers.ModelSerializer):
    author = serializers.StringRelatedField(allow_null=True, help_text="who stored it; null once that user is deleted")

    class Meta:
        model = WorkflowVersion
        fields = ["version", "content_hash", "author", "created", "definition"]


class VersionSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkflowVersion
        fields = ["version", "content_hash", "created"]


class WorkflowSerializer(serializers.ModelSerializer):
    team = serializers.StringRelatedField()
    latest_version = serializers.SerializerMethodField()

    class Meta:
        model = Workflow
        fields = ["slug", "name", "description", "tags", "team", "latest_version", "created", "updated", "archived_at"]
        read_only_fields = ["archived_at"]  # set by POST .../archive/ and .../unarchive/

    def get_latest_version(self, workflow) -> str | None:
        version = workflow.latest_version()
        return version.version if version else None


def ordering_field(*fields: str, default: str) -> serializers.ChoiceField:
    """`?ordering=` over `fields`, each also descending with a leading `-`."""
    choices = [order for field in fields for order in (field, f"-{field}")]
    return serializers.ChoiceField(choices=choices, default=default, help_text="a field; `-` first for descending")


class ComponentListQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(KINDS), required=False)
    # A choice, not a BooleanField: DRF reads a missing boolean in a query string as false.
    enabled = serializers.ChoiceField(choices=["true", "false"], required=False)
    q = serializers.CharField(required=False, max_length=100, help_text="part of the name or description")
    ordering = ordering_field("name", "kind", default="name")


class WorkflowListQuerySerializer(serializers.Serializer):
    team = serializers.CharField(required=False, max_length=100, help_text="the owning team's name")
    q = serializers.CharField(required=False, max_length=200, help_text="part of the id (slug) or name")
    ordering = ordering_field("slug", "name", "created", "updated", default="slug")


class VersionListQuerySerializer(serializers.Serializer):
    ordering = ordering_field("created", default="-created")


class TokenListQuerySerializer(serializers.Serializer):
    ordering = ordering_field("created", "last_used", "name", default="-created")


class DefinitionSerializer(StrictSerializer):
    definition = serializers.JSONField(help_text="a workflow definition (docs/workflow-format.md)")
    team = serializers.CharField(required=False, help_text="owning team's name (new workflows; default: yours)")


class ValidateQuerySerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["normal", "strict"], default="normal")


class ValidationIssueSerializer(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=["error", "warning"])
    message = serializers.CharField()
    path = serializers.CharField()
    suggestion = serializers.CharField(allow_null=True)


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    issues = ValidationIssueSerializer(many=True)


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = StepAttempt
        fields = ["number", "status", "worker", "error", "started", "finished", "delay"]


class MapSummarySerializer(serializers.Serializer):
    items = serializers.IntegerField(
        allow_null=True, help_text="how many items its list has; null until the map has resolved its list"
    )
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="its items by status (a status no item has is left out)"
    )


WAIT_HELP = (
    'what a waiting step waits for, as stored: {"kind": "time" | "event" | "approval" | "run" | "map", ...}; '
    "null for a step that never waited"
)
CHILD_RUNS_HELP = (
    "a sub-workflow step's (or a workflow map's item's) child runs, oldest first: a retry starts a new one, "
    "the last is the current one; empty for other steps"
)


class StepFactsMixin:
    """`map` and `child_runs`: read for many steps at once (step_facts.py) when the context holds them.

    The run's detail passes `step_facts` for all its steps (a constant number of queries); a single
    step (its detail, an approval's answer) reads its own.
    """

    def facts(self, step: StepRun) -> step_facts.StepFacts:
        facts = self.context.get("step_facts")
        if facts is None or step.pk not in facts.steps:
            facts = self.context["step_facts"] = step_facts.facts_of_step(step)
        return facts

    @extend_schema_field(MapSummarySerializer(allow_null=True))
    def get_map(self, step: StepRun):
        summary = self.facts(step).maps.get(step.pk)
        return None if summary is None else MapSummarySerializer(summary).data

    def get_child_runs(self, step: StepRun) -> list[int]:
        return self.facts(step).child_runs.get(step.pk, [])


class StepSerializer(StepFactsMixin, serializers.ModelSerializer):
    """A step of a run. A map's items are steps too, listed by the map step's items endpoint."""

    map = serializers.SerializerMethodField(
        help_text="a map step: its items counted by status (the items: GET /api/v1/runs/{id}/steps/{step}/items/); "
        "null for other steps"
    )
    child_runs = serializers.SerializerMethodField(help_text=CHILD_RUNS_HELP)

    class Meta:
        model = StepRun
        fields = [
            "id",
            "step_id",
            "component",
            "component_version",
            "status",
            "attempt",
            "queue",
            "priority",
            "worker",
            "error",
            "enqueued",
            "started",
            "finished",
            "wait",
            "wait_until",
            "map",
            "child_runs",
        ]
        extra_kwargs = {"wait": {"help_text": WAIT_HELP}}


class StepDetailSerializer(RedactedDataMixin, StepSerializer):
    run = serializers.PrimaryKeyRelatedField(read_only=True)
    map_step = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="a map's item: the map step's id (GET /api/v1/steps/{id}/)"
    )
    item_index = serializers.IntegerField(read_only=True, allow_null=True, help_text="a map's item: its position")
    item = serializers.JSONField(read_only=True, allow_null=True, help_text="a map's item: its value")
    attempts = AttemptSerializer(many=True, read_only=True)

    class Meta(StepSerializer.Meta):
        fields = [*StepSerializer.Meta.fields, "run", "map_step", "item_index", "item", "inputs", "outputs", "attempts"]


class ItemSerializer(RedactedDataMixin, StepFactsMixin, serializers.ModelSerializer):
    """One item of a map: a step run of its own, named "M[3]" after its map step and position."""

    index = serializers.IntegerField(source="item_index", read_only=True, help_text="its position in the list")
    item = serializers.JSONField(read_only=True, allow_null=True, help_text="its value ({{ item }})")
    child_runs = serializers.SerializerMethodField(help_text=CHILD_RUNS_HELP)

    class Meta:
        model = StepRun
        fields = [
            "id",
            "index",
            "step_id",
            "status",
            "attempt",
            "item",
            "outputs",
            "error",
            "worker",
            "enqueued",
            "started",
            "finished",
            "wait",
            "wait_until",
            "child_runs",
        ]
        extra_kwargs = {"wait": {"help_text": WAIT_HELP}}


class ItemListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=StepStatus.choices, required=False, help_text="only items in this status")


class RunSerializer(RedactedDataMixin, serializers.ModelSerializer):
    workflow = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    version = serializers.SlugRelatedField(slug_field="version", read_only=True)
    parent_step = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="A sub-workflow's child run: the step (GET /api/v1/steps/{id}/) that waits for it.",
    )

    class Meta:
        model = Run
        fields = [
            "id",
            "workflow",
            "version",
            "status",
            "trigger",
            "priority",
            "inputs",
            "outputs",
            "error",
            "rerun_of",
            "parent_step",
            "depth",
            "created",
            "started",
            "finished",
        ]


class RunDetailSerializer(RunSerializer):
    steps = StepSerializer(many=True, read_only=True)

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "steps"]


class RunStartSerializer(StrictSerializer):
    workflow = serializers.SlugField(help_text="the workflow's id (slug)")
    version = serializers.CharField(required=False, help_text="a version label (default: the latest)")
    inputs = serializers.DictField(required=False, default=dict)
    priority = serializers.IntegerField(required=False, min_value=0, max_value=9, help_text="0-9, 9 runs first")


class RunListQuerySerializer(serializers.Serializer):
    workflow = serializers.SlugField(required=False)
    status = serializers.ChoiceField(
        choices=[choice for choice, _ in Run._meta.get_field("status").choices], required=False
    )
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    ordering = ordering_field("created", "id", "status", default="-created")


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created", "last_used"]


class TokenCreateSerializer(StrictSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


class NewTokenSerializer(TokenSerializer):
    token = serializers.CharField(help_text="the secret: shown only now")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]


class MetricsQuerySerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False, help_text="count runs created from this time (ISO 8601)")
    hours = serializers.IntegerField(
        required=False, min_value=1, max_value=24 * 366, help_text="or over the last N hours (default 24)"
    )

    def validate(self, data):
        if "since" in data and "hours" in data:
            raise serializers.ValidationError({"since": ["give `since` or `hours`, not both"]})
        return data


class PercentilesSerializer(serializers.Serializer):
    p50 = serializers.FloatField(allow_null=True)
    p95 = serializers.FloatField(allow_null=True)
    p99 = serializers.FloatField(allow_null=True)


class FinishedSerializer(serializers.Serializer):
    """From the per-minute rollups, so runs already pruned still count."""

    since = serializers.DateTimeField(
        help_text="`since` rounded down to the minute (to the hour when over two days ago)"
    )
    runs = serializers.DictField(child=serializers.IntegerField(), help_text="runs finished since, by status")
    steps = serializers.DictField(child=serializers.IntegerField(), help_text="steps finished since, by status")
    run_seconds = PercentilesSerializer(help_text="run end to end (created to finished)")
    step_seconds = PercentilesSerializer(help_text="step execution (started to finished, last attempt)")
    queue_wait_seconds = PercentilesSerializer(help_text="step queue wait (enqueued to started, first attempt)")


class MetricsSummarySerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    runs = serializers.DictField(child=serializers.IntegerField(), help_text="runs created since, by status")
    steps = serializers.DictField(child=serializers.IntegerField(), help_text="their steps, by status")
    run_seconds_p50 = serializers.FloatField(allow_null=True)
    run_seconds_p95 = serializers.FloatField(allow_null=True)
    finished = FinishedSerializer(
        help_text="runs and steps that finished since, with latency percentiles (within 28 %: see docs)"
    )


# --- step logs (issue 18) ----------------------------------------------------------


class StepLogQuerySerializer(serializers.Serializer):
    attempt = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1, help_text="only this attempt")


class AttemptLogSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="the attempt's number, from 1")
    status = serializers.ChoiceField(choices=AttemptStatus.choices)
    lines = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        help_text='what the component logged, redacted; past OAWEB_STEP_LOG_BYTES the last line is "… truncated"',
    )


class StepLogSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    step = serializers.CharField(help_text="the step's id in the workflow")
    attempts = AttemptLogSerializer(many=True, help_text="the attempts that ended, oldest first")


class DecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=10000, required=False, allow_blank=True, default="")


class EventDeliveredSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    event = serializers.CharField()
    delivered = serializers.IntegerField(help_text="How many waiting steps the event ended.")
    kept = serializers.BooleanField(
        help_text="No step waited for it yet: kept for the first step of the run that will (see wait_views.post_event)."
    )
