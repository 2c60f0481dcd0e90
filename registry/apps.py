from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Component registry"

    def ready(self):
        from registry import catalog, checks  # noqa: F401  (checks register themselves)

        catalog.discover()
