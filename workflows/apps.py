from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"

    def ready(self):
        # Imported here, not at the top: Django imports this module before models can be.
        from workflows.execution import recovery
        from workflows.metrics import hooks

        # Each room hangs its own work on a worker's heartbeat (the heartbeat knows none of them).
        recovery.register_hooks()
        hooks.register()
