from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"

    def ready(self):
        # Work each room hangs on a worker's heartbeat (the heartbeat knows none of them).
        from workflows import metrics, rollups, timings
        from workflows.execution import heartbeat, recovery

        heartbeat.on_every_beat("reaper", recovery.reap_if_due)
        heartbeat.on_every_beat("rollups", rollups.add_pending)
        heartbeat.on_every_beat("gauges", metrics.sample_gauges_if_due)
        heartbeat.on_every_beat("timings", timings.flush)
