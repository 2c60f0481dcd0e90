"""What the metrics hang on other rooms: a worker's heartbeat, and the registry's lookups.

Registered when the app is ready (workflows/apps.py): the heartbeat and the
registry call these without knowing about metrics.
"""

from registry import lookup
from workflows.execution import heartbeat
from workflows.metrics import reports, rollups, timings


def register() -> None:
    heartbeat.on_every_beat("rollups", rollups.add_pending)
    heartbeat.on_every_beat("gauges", reports.sample_gauges_if_due)
    heartbeat.on_every_beat("timings", timings.flush)
    if observe_lookup not in lookup.lookup_observers:
        lookup.lookup_observers.append(observe_lookup)


def observe_lookup(seconds: float) -> None:
    timings.observe("component_lookup", seconds)
