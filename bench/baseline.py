"""Raw Celery tasks for bench/engine.py: what Celery alone costs per step.

Imported by the benchmark's workers through OAWEB_COMPONENT_MODULES (the
module declares no component; importing it registers the tasks). Each raw
run reports its end by pushing onto a Redis list the benchmark waits on.

  W1: chain_link x 10 (each task enqueues the next);
  W2: fan_out_head, 50 x fan_out_leaf joined by a Redis counter, fan_in;
  W3: sleep_link x 5, each sleeping 100 ms, then enqueueing the next;
  fan-out 100 + join: 100 x fan_out_leaf enqueued by the benchmark, fan_in.
"""

import time

import redis
from celery import shared_task
from django.conf import settings

_client = None


def client():
    global _client
    if _client is None:
        # No socket timeout: the benchmark's BLPOPs wait for whole bursts
        # (redis-py 8 times a read out after 5 s by default).
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=None)
    return _client


@shared_task(name="bench.chain_link", ignore_result=True, acks_late=True)
def chain_link(remaining: int, done_key: str) -> None:
    """A hand-written chain: each task enqueues the next, the last one reports."""
    if remaining > 1:
        chain_link.delay(remaining - 1, done_key)
    else:
        client().lpush(done_key, 1)


@shared_task(name="bench.sleep_link", ignore_result=True, acks_late=True)
def sleep_link(remaining: int, seconds: float, done_key: str) -> None:
    """A hand-written chain of sleeps: each task sleeps, then enqueues the next; the last one reports."""
    time.sleep(seconds)
    if remaining > 1:
        sleep_link.delay(remaining - 1, seconds, done_key)
    else:
        client().lpush(done_key, 1)


@shared_task(name="bench.fan_out_head", ignore_result=True, acks_late=True)
def fan_out_head(width: int, counter_key: str, done_key: str) -> None:
    """The first task of a fan-out: enqueues `width` parallel tasks, the last of which enqueues the join."""
    for _ in range(width):
        fan_out_leaf.delay(width, counter_key, done_key)


@shared_task(name="bench.fan_out_leaf", ignore_result=True, acks_late=True)
def fan_out_leaf(width: int, counter_key: str, done_key: str) -> None:
    """One of `width` parallel tasks; the last to finish enqueues the join (a counter join)."""
    if client().incr(counter_key) == width:
        fan_in.delay(done_key)


@shared_task(name="bench.fan_in", ignore_result=True, acks_late=True)
def fan_in(done_key: str) -> None:
    client().lpush(done_key, 1)
