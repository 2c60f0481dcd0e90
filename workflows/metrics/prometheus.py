"""The Prometheus text `/metrics` serves (workflows/web/probes.py), collected at scrape time.

Nothing is counted in the memory of the process that answers (apart from
embedded mode's timings, where there is one process): counters come from
the all-time rollups, gauges from the live state, timings from the Redis
hash every process adds to (workflows/metrics/timings.py). So any web process on
any machine answers the same, however many workers there are.
"""

from django.db.models import Sum
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from workflows.execution.status import RunStatus
from workflows.metrics import reports, rollups, timings
from workflows.metrics.rollups import EXPORTED_BOUNDS, TOTAL, MetricRollup

RUN_OUTCOMES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


def _buckets(counts, bounds, exported) -> list[tuple[str, float]]:
    """Cumulative (le, count) pairs at the exported bounds (a subset of `bounds`), then +Inf."""
    pairs, cumulative, position = [], 0, 0
    for index, bound in enumerate(bounds):
        cumulative += counts[index]
        if position < len(exported) and bound == exported[position]:
            pairs.append((repr(bound), cumulative))
            position += 1
    pairs.append(("+Inf", cumulative + sum(counts[len(bounds) :])))
    return pairs


class OawebCollector:
    def collect(self):
        rollups.catch_up()
        yield from self.rollup_metrics()
        yield from self.live_metrics()
        yield from self.timing_metrics()

    def rollup_metrics(self):
        fields = rollups.ADDED_FIELDS
        rows = (
            MetricRollup.objects.filter(period=TOTAL)
            .values("workflow__slug", "component")
            .annotate(**{name: Sum(name) for name in fields})
            .order_by("workflow__slug", "component")
        )
        runs = CounterMetricFamily("oaweb_runs", "Finished runs by workflow and outcome", labels=["workflow", "status"])
        run_seconds = HistogramMetricFamily(
            "oaweb_run_duration_seconds", "Run end to end: created to finished", labels=["workflow"]
        )
        run_wait = HistogramMetricFamily(
            "oaweb_run_start_delay_seconds", "Run created to its first step started", labels=["workflow"]
        )
        steps_by_component: dict[str, dict] = {}
        for values in rows:
            row = reports._row(values)
            if values["component"] == rollups.ALL_STEPS:
                continue  # the workflow's steps again, summed over components: for the page's speed
            if values["component"] == rollups.RUN:
                workflow = values["workflow__slug"]
                for outcome in RUN_OUTCOMES:
                    runs.add_metric([workflow, outcome], row[outcome])
                run_seconds.add_metric(
                    [workflow], _buckets(row["duration"], rollups.BOUNDS, EXPORTED_BOUNDS), row["duration_sum"]
                )
                run_wait.add_metric([workflow], _buckets(row["wait"], rollups.BOUNDS, EXPORTED_BOUNDS), row["wait_sum"])
            else:
                # Steps by component, over every workflow: components are few, workflows many.
                steps_by_component[values["component"]] = reports._merge(
                    [steps_by_component.get(values["component"]) or reports._row({}), row]
                )
        steps = CounterMetricFamily(
            "oaweb_steps", "Finished steps by component and outcome", labels=["component", "status"]
        )
        attempts = CounterMetricFamily("oaweb_step_attempts", "Attempts of finished steps", labels=["component"])
        step_seconds = HistogramMetricFamily(
            "oaweb_step_duration_seconds", "Step execution: started to finished (last attempt)", labels=["component"]
        )
        step_wait = HistogramMetricFamily(
            "oaweb_step_queue_wait_seconds",
            "Step queue wait: enqueued to started (first attempt)",
            labels=["component"],
        )
        inputs = CounterMetricFamily("oaweb_step_input_bytes", "JSON bytes of steps' inputs", labels=["component"])
        outputs = CounterMetricFamily("oaweb_step_output_bytes", "JSON bytes of steps' outputs", labels=["component"])
        for component, row in steps_by_component.items():
            for outcome in rollups.OUTCOMES:
                steps.add_metric([component, outcome], row[outcome])
            attempts.add_metric([component], row["attempts"])
            step_seconds.add_metric(
                [component], _buckets(row["duration"], rollups.BOUNDS, EXPORTED_BOUNDS), row["duration_sum"]
            )
            step_wait.add_metric([component], _buckets(row["wait"], rollups.BOUNDS, EXPORTED_BOUNDS), row["wait_sum"])
            inputs.add_metric([component], row["input_bytes"])
            outputs.add_metric([component], row["output_bytes"])
        yield from (runs, run_seconds, run_wait, steps, attempts, step_seconds, step_wait, inputs, outputs)

    def live_metrics(self):
        state = reports.live_state()
        depth = GaugeMetricFamily("oaweb_queue_depth", "Messages waiting in each step queue", labels=["queue"])
        for queue, value in state["queues"].items():
            depth.add_metric([queue], value)
        yield depth
        workers = GaugeMetricFamily(
            "oaweb_workers", "Worker processes by heartbeat status (lost: seen in the last day)", labels=["status"]
        )
        workers.add_metric(["online"], state["workers_online"])
        workers.add_metric(["lost"], state["workers_lost"])
        yield workers
        yield GaugeMetricFamily("oaweb_workers_online", "Worker processes heartbeating", value=state["workers_online"])
        yield GaugeMetricFamily("oaweb_worker_slots", "Concurrency of the online workers", value=state["slots"])
        yield GaugeMetricFamily("oaweb_steps_running", "Steps running on online workers", value=state["busy"])
        active = GaugeMetricFamily("oaweb_runs_active", "Runs not finished yet", labels=["status"])
        active.add_metric([RunStatus.PENDING], state["runs_pending"])
        active.add_metric([RunStatus.RUNNING], state["runs_running"])
        yield active

    def timing_metrics(self):
        families = {
            "api_request": HistogramMetricFamily(
                "oaweb_api_request_duration_seconds",
                timings.TIMINGS["api_request"],
                labels=["method", "route", "status"],
            ),
            "validation": HistogramMetricFamily("oaweb_validation_duration_seconds", timings.TIMINGS["validation"]),
            "component_lookup": HistogramMetricFamily(
                "oaweb_component_lookup_duration_seconds", timings.TIMINGS["component_lookup"]
            ),
        }
        requests = CounterMetricFamily(
            "oaweb_api_requests", "API requests by method, route and status class", labels=["method", "route", "status"]
        )
        for (name, labels), histogram in sorted(timings.recorder.totals().items()):
            family = families.get(name)
            if family is None:
                continue
            values = [value for _, value in labels]
            family.add_metric(values, _buckets(histogram[:-1], timings.BOUNDS, timings.BOUNDS), histogram[-1])
            if name == "api_request":
                requests.add_metric(values, sum(histogram[:-1]))
        yield requests
        yield from families.values()


def exposition() -> bytes:
    """The Prometheus text of oaweb's metrics, collected now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OawebCollector())
    return generate_latest(registry)
