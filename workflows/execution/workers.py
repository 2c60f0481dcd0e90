"""The worker registry: every process that executes steps, and when it last beat.

Each worker process's maintenance thread (workflows/execution/heartbeat.py) writes its
row every heartbeat; a process that stops beating for LOST_AFTER is shown as
lost (killed, hung, or its machine gone). The database holds it, so every
web process and every machine sees the same workers.
"""

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

# Missing this many heartbeats in a row makes a worker lost: a few seconds by
# default, well inside the minute an operator should wait at most.
MISSED_BEATS = 3

# What this process knows about itself as a worker, filled in at start-up.
identity = {"queues": [], "concurrency": None, "pool": "", "embedded": False}


def lost_after() -> timedelta:
    return timedelta(seconds=MISSED_BEATS * settings.OAWEB_HEARTBEAT_SECONDS)


class WorkerQuerySet(models.QuerySet):
    def online(self):
        return self.filter(last_heartbeat__gte=timezone.now() - lost_after())

    def lost(self):
        return self.filter(last_heartbeat__lt=timezone.now() - lost_after())


class Worker(models.Model):
    name = models.CharField(max_length=200, unique=True, help_text="host:pid, as on the steps it runs")
    hostname = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    queues = models.JSONField(default=list, blank=True)
    concurrency = models.PositiveIntegerField(null=True, blank=True)
    pool = models.CharField(max_length=20, blank=True)
    embedded = models.BooleanField(default=False)
    active_steps = models.PositiveIntegerField(default=0)
    started = models.DateTimeField(auto_now_add=True)
    # The workers page and /healthz ask for recent heartbeats.
    last_heartbeat = models.DateTimeField(db_index=True)

    objects = WorkerQuerySet.as_manager()

    class Meta:
        ordering = ["hostname", "pid"]

    def __str__(self):
        return self.name

    @property
    def is_lost(self) -> bool:
        return self.last_heartbeat < timezone.now() - lost_after()

    @property
    def status(self) -> str:
        return "lost" if self.is_lost else "online"

    @classmethod
    def idle_slots_elsewhere(cls) -> int:
        """Free slots of the other live workers that serve a queue this process serves (pace.py)."""
        mine = set(identity["queues"])
        others = cls.objects.online().exclude(name=f"{socket.gethostname()}:{os.getpid()}")
        return sum(
            max(0, (concurrency or 1) - active)
            for queues, concurrency, active in others.values_list("queues", "concurrency", "active_steps")
            if mine & set(queues or ())
        )

    @classmethod
    def beat(cls, active_steps: int) -> None:
        """This process is alive: write its row (one UPDATE; an INSERT the first time)."""
        hostname, pid = socket.gethostname(), os.getpid()
        name = f"{hostname}:{pid}"
        now = timezone.now()
        fields = {
            "last_heartbeat": now,
            "active_steps": active_steps,
            "queues": identity["queues"],
            "concurrency": identity["concurrency"],
            "pool": identity["pool"],
            "embedded": identity["embedded"],
        }
        if not cls.objects.filter(name=name).update(**fields):
            cls.objects.update_or_create(name=name, defaults={**fields, "hostname": hostname, "pid": pid})
