"""Raw Celery tasks for bench/engine.py: what Celery alone costs per step.

Imported by the benchmark's workers through OAWEB_COMPONENT_MODULES (the
module declares no component; importing it registers the tasks).
"""

import redis
from celery import shared_task
from django.conf import settings

_client = None


def client():
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


@shared_task(name="bench.chain_link", ignore_result=True, acks_late=True)
def chain_link(remaining: int, done_key: str) -> None:
    """A hand-written chain: each task enqueues the next, the last one reports."""
    if remaining > 1:
        chain_link.delay(remaining - 1, done_key)
    else:
        client().lpush(done_key, 1)


@shared_task(name="bench.fan_out_leaf", ignore_result=True, acks_late=True)
def fan_out_leaf(width: int, counter_key: str, done_key: str) -> None:
    """One of `width` parallel tasks; the last to finish enqueues the join (a counter join)."""
    if client().incr(counter_key) == width:
        fan_in.delay(done_key)


@shared_task(name="bench.fan_in", ignore_result=True, acks_late=True)
def fan_in(done_key: str) -> None:
    client().lpush(done_key, 1)
