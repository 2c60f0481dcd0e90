"""The audit log in the admin: read-only, nothing added, changed or deleted."""

from django.contrib import admin

from workflows.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "via", "team", "action", "target_type", "target_label"]
    list_filter = ["action", "via", "team"]
    search_fields = ["actor", "target_label", "target_id"]
    list_select_related = ["team"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
