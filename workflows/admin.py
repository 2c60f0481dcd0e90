"""Admin for teams, workflows, versions, runs, step runs and attempts.

Only staff reach the admin, and staff see every team's objects (the one
ownership rule, Workflow.objects.visible_to). Versions are immutable, and runs,
step runs and attempts are written by the engine alone (a status change is a
row, never an edit), so those are shown read-only; they can still be deleted.
"""

from django.contrib import admin, messages
from django.db.models import Count

from registry.admin import pretty_json
from workflows import engine
from workflows.models import Run, StepAttempt, StepRun, Team, Workflow, WorkflowVersion
from workflows.state import StateUnavailable


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "member_count", "workflow_count", "created"]
    search_fields = ["name"]
    filter_horizontal = ["members"]

    def get_queryset(self, request):
        # distinct: the two joins multiply each other's rows.
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_total=Count("members", distinct=True),
                workflow_total=Count("workflows", distinct=True),
            )
        )

    @admin.display(description="members", ordering="member_total")
    def member_count(self, obj):
        return obj.member_total

    @admin.display(description="workflows", ordering="workflow_total")
    def workflow_count(self, obj):
        return obj.workflow_total


class VersionInline(ReadOnlyInline):
    model = WorkflowVersion
    fields = ["version", "author", "created", "content_hash"]
    readonly_fields = fields
    ordering = ["-created", "-id"]


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "team", "version_count", "updated"]
    list_filter = [("team", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["team"]
    search_fields = ["slug", "name", "description"]
    date_hierarchy = "created"
    # Name, description and tags are copied from each new version's definition,
    # so editing them here would be overwritten; the team is the admin's to set.
    fields = ["slug", "name", "description", "tags", "team", "created", "updated"]
    readonly_fields = ["slug", "name", "description", "tags", "created", "updated"]
    inlines = [VersionInline]
    actions = ["start_runs"]

    @admin.action(description="Run the latest version of the selected workflows (default inputs)")
    def start_runs(self, request, queryset):
        for workflow in queryset:
            try:
                run = engine.start_run(workflow, {}, user=request.user, trigger="manual")
            except (engine.RunRefused, StateUnavailable) as exc:
                self.message_user(request, f"{workflow.slug}: {exc}", messages.WARNING)
            else:
                self.message_user(request, f"{workflow.slug}: run {run.pk} started")

    def has_add_permission(self, request):
        return False  # a workflow is created by importing a definition (CLI, API, editor)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(version_total=Count("versions", distinct=True))

    @admin.display(description="versions", ordering="version_total")
    def version_count(self, obj):
        return obj.version_total


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "workflow", "version", "author", "created", "short_hash"]
    list_filter = [("workflow__team", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["workflow", "author"]
    search_fields = ["workflow__slug", "version", "content_hash"]
    date_hierarchy = "created"
    raw_id_fields = ["workflow", "author"]
    fields = ["workflow", "version", "author", "created", "content_hash", "pretty_definition"]
    readonly_fields = ["pretty_definition"]

    @admin.display(description="content hash")
    def short_hash(self, obj):
        return obj.content_hash[:12]

    @admin.display(description="definition")
    def pretty_definition(self, obj):
        return pretty_json(obj.definition)


class StepInline(ReadOnlyInline):
    model = StepRun
    fields = ["step_id", "component", "status", "attempt", "queue", "worker", "started", "finished"]
    readonly_fields = fields


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ["id", "workflow", "version", "status", "trigger", "priority", "created", "duration"]
    list_filter = ["status", "trigger", ("workflow", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["workflow", "version__workflow"]
    search_fields = ["=id", "workflow__slug"]
    date_hierarchy = "created"
    raw_id_fields = ["workflow", "version", "created_by", "rerun_of"]
    # Runs pile up: skip the second COUNT(*) over the whole table.
    show_full_result_count = False
    fields = [
        "workflow",
        "version",
        "status",
        "trigger",
        "priority",
        "created_by",
        "rerun_of",
        "created",
        "started",
        "finished",
        "pretty_inputs",
        "pretty_outputs",
        "error",
    ]
    readonly_fields = ["pretty_inputs", "pretty_outputs"]
    inlines = [StepInline]
    actions = ["cancel_runs", "rerun_runs"]

    @admin.action(description="Cancel the selected runs")
    def cancel_runs(self, request, queryset):
        cancelled = sum(1 for run in queryset if engine.cancel_run(run))
        self.message_user(request, f"{cancelled} run(s) cancelled; the others had already finished.")

    @admin.action(description="Re-run the selected failed or cancelled runs from where they stopped")
    def rerun_runs(self, request, queryset):
        for run in queryset.select_related("version"):
            try:
                new = engine.rerun(run, user=request.user)
            except (engine.RunRefused, StateUnavailable) as exc:
                self.message_user(request, f"run {run.pk}: {exc}", messages.WARNING)
            else:
                self.message_user(request, f"run {run.pk} re-run as run {new.pk}")

    @admin.display(description="duration")
    def duration(self, obj):
        if obj.started and obj.finished:
            return obj.finished - obj.started
        return "-"

    @admin.display(description="inputs")
    def pretty_inputs(self, obj):
        return pretty_json(obj.inputs)

    @admin.display(description="outputs")
    def pretty_outputs(self, obj):
        return pretty_json(obj.outputs)


class AttemptInline(ReadOnlyInline):
    model = StepAttempt
    fields = ["number", "status", "worker", "delay", "started", "finished", "error"]
    readonly_fields = fields


@admin.register(StepRun)
class StepRunAdmin(ReadOnlyAdmin):
    list_display = ["step_id", "run", "component", "status", "attempt", "queue", "worker", "started", "finished"]
    list_filter = ["status", "queue"]
    list_select_related = ["run"]
    search_fields = ["step_id", "component", "worker", "task_id", "run__workflow__slug"]
    raw_id_fields = ["run", "reused_from"]
    show_full_result_count = False
    fields = [
        "run",
        "step_id",
        "component",
        "component_version",
        "status",
        "attempt",
        "queue",
        "priority",
        "worker",
        "task_id",
        "enqueued",
        "started",
        "finished",
        "lease_expires",
        "reused_from",
        "pretty_inputs",
        "pretty_outputs",
        "error",
    ]
    readonly_fields = ["pretty_inputs", "pretty_outputs"]
    inlines = [AttemptInline]

    @admin.display(description="inputs")
    def pretty_inputs(self, obj):
        return pretty_json(obj.inputs)

    @admin.display(description="outputs")
    def pretty_outputs(self, obj):
        return pretty_json(obj.outputs)


@admin.register(StepAttempt)
class StepAttemptAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "status", "worker", "delay", "started", "finished"]
    list_filter = ["status"]
    list_select_related = ["step_run"]
    search_fields = ["step_run__step_id", "worker", "error"]
    raw_id_fields = ["step_run"]
    show_full_result_count = False
