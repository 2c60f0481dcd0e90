"""Admin for teams, workflows, versions, runs, step runs and attempts.

Only staff reach the admin, and staff see every team's objects (the one
ownership rule, Workflow.objects.visible_to). Versions are immutable, and runs,
step runs and attempts are written by the engine alone (a status change is a
row, never an edit), so those are shown read-only; they can still be deleted.
"""

from django.contrib import admin, messages
from django.db.models import Count

from registry.admin import pretty_json
from workflows import services
from workflows.alerts import admin as alert_admin  # noqa: F401  (issue 20: registers its models)
from workflows.audit import admin as audit_admin  # noqa: F401  (issue 20: registers its models)
from workflows.credentials import admin as credential_admin  # noqa: F401  (issue 20: registers its models)
from workflows.execution import runs as engine
from workflows.execution.models import Run, StepAttempt, StepRun
from workflows.execution.state import StateUnavailable
from workflows.execution.workers import Worker
from workflows.models import Team, Workflow, WorkflowVersion
from workflows.tokens import ApiToken
from workflows.triggers import schedules
from workflows.triggers.models import Schedule, WebhookTrigger


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
    list_display = ["slug", "name", "team", "version_count", "updated", "archived_at"]
    list_filter = [("team", admin.RelatedOnlyFieldListFilter), ("archived_at", admin.EmptyFieldListFilter)]
    list_select_related = ["team"]
    search_fields = ["slug", "name", "description"]
    date_hierarchy = "created"
    # Name, description and tags are copied from each new version's definition,
    # so editing them here would be overwritten; the team is the admin's to set.
    fields = ["slug", "name", "description", "tags", "team", "created", "updated", "archived_at"]
    # Archived through the actions (services.archive), like the pages and the API.
    readonly_fields = ["slug", "name", "description", "tags", "created", "updated", "archived_at"]
    inlines = [VersionInline]
    actions = ["start_runs", "archive", "unarchive"]

    @admin.action(description="Archive the selected workflows (no new runs; their runs stay)")
    def archive(self, request, queryset):
        changed = sum(1 for workflow in queryset if services.archive(workflow))
        self.message_user(request, f"{changed} workflow(s) archived; the others already were.")

    @admin.action(description="Unarchive the selected workflows")
    def unarchive(self, request, queryset):
        changed = sum(1 for workflow in queryset if services.unarchive(workflow))
        self.message_user(request, f"{changed} workflow(s) unarchived; the others were not archived.")

    # A workflow with runs is archived, not deleted, here as on its page (services.delete_workflow).
    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or not obj.has_runs())

    def delete_model(self, request, obj):
        services.delete_workflow(obj)

    def delete_queryset(self, request, queryset):
        for workflow in queryset:
            try:
                services.delete_workflow(workflow)
            except services.WorkflowRefused as refused:
                self.message_user(request, str(refused), messages.WARNING)

    @admin.action(description="Run the latest version of the selected workflows (default inputs)")
    def start_runs(self, request, queryset):
        for workflow in queryset:
            try:
                run = services.start(workflow, {}, user=request.user, trigger="manual")
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
        cancelled = sum(1 for run in queryset if services.cancel(run, user=request.user))
        self.message_user(request, f"{cancelled} run(s) cancelled; the others had already finished.")

    @admin.action(description="Re-run the selected failed or cancelled runs from where they stopped")
    def rerun_runs(self, request, queryset):
        for run in queryset.select_related("version"):
            try:
                new = services.rerun(run, user=request.user)
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

    def get_queryset(self, request):  # the log (up to 1 MB an attempt) is read on the run page, not here
        return super().get_queryset(request).defer("log")


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
        "wait",
        "wait_until",
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

    def get_queryset(self, request):
        return super().get_queryset(request).defer("log")


# --- schedules and webhook triggers (workflows/triggers/models.py) ------------------------


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["name", "workflow", "cron", "timezone", "enabled", "last_fired", "last_run", "short_error"]
    list_filter = ["enabled", ("workflow__team", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["workflow", "last_run"]
    search_fields = ["name", "workflow__slug", "cron"]
    raw_id_fields = ["workflow"]
    fields = [
        "workflow",
        "name",
        "cron",
        "timezone",
        "inputs",
        "enabled",
        "created_by",
        "created",
        "last_fired",
        "last_run",
        "last_error",
        "periodic_task",
    ]
    readonly_fields = ["created_by", "created", "last_fired", "last_run", "last_error", "periodic_task"]
    actions = ["enable", "disable", "fire_now"]

    # The beat entry is written here explicitly, as in the API (no post_save receiver).
    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.save()
        obj.sync()

    def delete_model(self, request, obj):
        obj.delete()

    def delete_queryset(self, request, queryset):
        for schedule in queryset:
            schedule.delete()  # each one removes its beat entry

    def _set_enabled(self, request, queryset, enabled: bool):
        for schedule in queryset.select_related("workflow"):
            Schedule.objects.filter(pk=schedule.pk).update(enabled=enabled)
            schedule.enabled = enabled
            schedule.sync()
        self.message_user(request, f"{queryset.count()} schedule(s) {'enabled' if enabled else 'disabled'}.")

    @admin.action(description="Enable the selected schedules")
    def enable(self, request, queryset):
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable the selected schedules")
    def disable(self, request, queryset):
        self._set_enabled(request, queryset, False)

    @admin.action(description="Fire the selected schedules now")
    def fire_now(self, request, queryset):
        for schedule in queryset.select_related("workflow", "created_by"):
            run = schedules.fire_schedule(schedule)
            if run is None:
                schedule.refresh_from_db()
                self.message_user(request, f"{schedule.name}: {schedule.last_error or 'disabled'}", messages.WARNING)
            else:
                self.message_user(request, f"{schedule.name}: run {run.pk} started")

    @admin.display(description="last error")
    def short_error(self, obj):
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error


@admin.register(WebhookTrigger)
class WebhookTriggerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "workflow", "name", "enabled", "created", "rotated", "last_used"]
    list_filter = ["enabled", ("workflow__team", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["workflow"]
    search_fields = ["name", "workflow__slug", "token_prefix"]
    raw_id_fields = ["workflow"]
    fields = ["workflow", "name", "enabled", "token_prefix", "created_by", "created", "rotated", "last_used"]
    readonly_fields = ["token_prefix", "created_by", "created", "rotated", "last_used"]
    actions = ["rotate_tokens"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        obj.created_by = request.user
        token = obj.set_token()
        obj.save()
        self._show_token(request, obj, token)

    def _show_token(self, request, obj, token):
        url = request.build_absolute_uri(obj.url_path(token))
        self.message_user(request, f"{obj}: POST to {url} — copy it now, it is not shown again.", messages.WARNING)

    @admin.action(description="Rotate the tokens of the selected webhooks (the old ones stop working)")
    def rotate_tokens(self, request, queryset):
        for trigger in queryset.select_related("workflow"):
            self._show_token(request, trigger, trigger.rotate())


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued here or through the API; the secret is shown once, in a message."""

    list_display = ["prefix", "name", "user", "created", "last_used", "revoked"]
    list_filter = [("revoked", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    actions = ["revoke_tokens"]

    def get_fields(self, request, obj=None):
        return ["user", "name"] if obj is None else ["user", "name", "prefix", "created", "last_used", "revoked"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["user", "prefix", "created", "last_used", "revoked"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        token, secret = ApiToken.issue(obj.user, obj.name)
        obj.pk = token.pk
        self.message_user(request, f"Token for {obj.user}: {secret} — copy it now, it is not shown again.")

    @admin.action(description="Revoke the selected tokens")
    def revoke_tokens(self, request, queryset):
        for token in queryset:
            token.revoke()
        self.message_user(request, f"{queryset.count()} token(s) revoked.")


@admin.register(Worker)
class WorkerAdmin(ReadOnlyAdmin):
    list_display = ["name", "status", "queues", "pool", "concurrency", "active_steps", "last_heartbeat", "embedded"]
    list_filter = ["hostname", "embedded"]
    search_fields = ["name", "hostname"]

    @admin.display(description="status")
    def status(self, obj):
        return obj.status
