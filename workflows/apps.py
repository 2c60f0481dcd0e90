from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"

    def ready(self):
        # Imported here, not at the top: Django imports this module before models can be.
        from workflows.alerts import hooks as alert_hooks  # issue 20
        from workflows.execution import recovery
        from workflows.metrics import hooks

        # Each room hangs its own work on a worker's heartbeat (the heartbeat knows none of them).
        recovery.register_hooks()
        hooks.register()
        alert_hooks.register()  # issue 20: alerts (workflows/alerts/hooks.py)
