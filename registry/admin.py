"""Admin for components: browse what the code declares, switch components on and off.

Everything but `enabled` comes from the code and is rewritten by
`sync_components`, so the admin shows it read-only instead of letting an
edit vanish on the next sync.
"""

import json

from django.contrib import admin
from django.utils.html import format_html

from registry.models import Component


def pretty_json(value) -> str:
    """JSON indented inside <pre>, escaped (a definition may hold any text)."""
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "kind", "queue", "timeout", "rate_limit", "enabled", "updated"]
    list_editable = ["enabled"]
    list_filter = ["enabled", "kind", "queue"]
    search_fields = ["name", "description", "entrypoint"]
    fields = [
        "name",
        "version",
        "kind",
        "enabled",
        "description",
        "entrypoint",
        "is_class",
        "queue",
        "timeout",
        "rate_limit",
        "tags",
        "retry_policy",
        "inputs",
        "outputs",
        "created",
        "updated",
    ]
    readonly_fields = [field for field in fields if field != "enabled"]

    def has_add_permission(self, request):
        return False  # components are declared in code and written by sync_components

    @admin.display(description="input schema")
    def inputs(self, obj):
        return pretty_json(obj.input_schema)

    @admin.display(description="output schema")
    def outputs(self, obj):
        return pretty_json(obj.output_schema)

    @admin.display(description="retry")
    def retry_policy(self, obj):
        return pretty_json(obj.retry) if obj.retry else "-"
