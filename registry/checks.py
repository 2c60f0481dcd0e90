"""System checks for the registry's configuration."""

from django.core.checks import Error, register

from registry.catalog import DISCOVERY_ERRORS


@register()
def check_component_modules(app_configs, **kwargs):
    return [
        Error(f"OAWEB_COMPONENT_MODULES names {module!r}, which cannot be imported: {error}", id="registry.E001")
        for module, error in DISCOVERY_ERRORS.items()
    ]
