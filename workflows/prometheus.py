"""`/metrics`: Prometheus text, collected from the database and Redis at scrape time.

Nothing is counted in the memory of the process that answers (apart from
embedded mode's timings, where there is one process): counters come from
the all-time rollups, gauges from the live state, timings from the Redis
hash every process adds to (workflows/timings.py). So any web process on
any machine answers the same, however many workers there are.

Set OAWEB_METRICS_TOKEN to require `Authorization: Bearer <token>`; with
DEBUG off it is required (see `refusal`).
"""

import hmac

from django.conf import settings
from django.db.models import Sum
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from workflows import metrics, rollups, timings
from workflows.rollups import EXPORTED_BOUNDS, TOTAL, MetricRollup

RUN_OUTCOMES = ("succeeded", "failed", "cancelled")


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
            row = metrics._row(values)
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
                steps_by_component[values["component"]] = metrics._merge(
                    [steps_by_component.get(values["component"]) or metrics._row({}), row]
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
        state = metrics.live_state()
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
        active.add_metric(["pending"], state["runs_pending"])
        active.add_metric(["running"], state["runs_running"])
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


def has_token(request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def refusal(request) -> HttpResponse | None:
    """Why this caller may not scrape, as the response to send; None when they may.

    The text names every team's workflows, so it is not for anyone: the
    token's bearer (Prometheus), staff (who see every team anyway), or anyone
    with DEBUG on (`make run`). With DEBUG off and no token set, a 403 says
    what to set, rather than an answer with fewer labels that would leave
    dashboards silently empty.
    """
    token = settings.OAWEB_METRICS_TOKEN
    if (token and has_token(request, token)) or request.user.is_staff:
        return None
    if token:
        response = HttpResponse("a valid bearer token is required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if settings.DEBUG:
        return None
    return HttpResponse(
        "/metrics names every team's workflows: set OAWEB_METRICS_TOKEN and scrape with that bearer token\n",
        status=403,
        content_type="text/plain",
    )


@never_cache
@require_GET
def prometheus_metrics(request):
    refused = refusal(request)
    if refused is not None:
        return refused
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OawebCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
