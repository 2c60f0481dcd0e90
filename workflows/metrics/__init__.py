"""Throughput and latency: rollups of finished runs, live gauges, request timings, /metrics, pruning old runs."""
