"""Runs, their steps and the steps' attempts: the rows the engine moves through their statuses.

Every status write goes through workflows/execution/transitions/; these
classes hold the columns, the indexes the engine's queries need, and
small helpers.
"""

from django.conf import settings
from django.db import models

from workflows.execution.status import AttemptStatus, RunStatus, StepStatus
from workflows.visibility import visible_to

TRIGGERS = ["manual", "cli", "api", "schedule", "webhook", "rerun", "workflow"]  # workflow: a sub-workflow step


class RunQuerySet(models.QuerySet):
    def visible_to(self, user):
        return visible_to(self, user, team_path="workflow__team")


class Run(models.Model):
    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey("workflows.WorkflowVersion", on_delete=models.PROTECT, related_name="runs")
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.PENDING)
    inputs = models.JSONField(default=dict, blank=True)
    outputs = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    priority = models.PositiveSmallIntegerField(default=5)
    trigger = models.CharField(max_length=20, choices=[(trigger, trigger) for trigger in TRIGGERS], default="manual")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    rerun_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    # Steps not final yet. Every transition that makes steps final lowers it in
    # its own transaction (a row lock serialises them), so the one that brings
    # it to 0 finishes the run there and then: no later check to lose.
    unfinished = models.IntegerField(default=0)
    # False while a large run's steps are still being written after its start
    # answered (execution.transitions.create_deferred_steps).
    steps_created = models.BooleanField(default=True)
    # A sub-workflow's run: the step of the parent run that waits for it (execution/waits.py),
    # and how deep it is in a chain of them (0: started by a person, a schedule, a webhook).
    parent_step = models.ForeignKey(
        "StepRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="child_runs"
    )
    depth = models.PositiveSmallIntegerField(default=0, db_default=0)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            # Workflow pages and the API list a workflow's runs newest first.
            models.Index(fields=["workflow", "-created"], name="run_workflow_created"),
            # Dashboard counters and metrics: runs by status over time.
            models.Index(fields=["status", "finished"], name="run_status_finished"),
        ]

    def __str__(self):
        return f"run {self.pk} of {self.workflow_id}"

    @property
    def is_final(self) -> bool:
        return self.status in RunStatus.FINAL


class StepRun(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    # A map's items are "ID[INDEX]": longer than any step id of the definition.
    step_id = models.CharField(max_length=120)
    component = models.CharField(max_length=100)
    component_version = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=20, choices=StepStatus.choices, default=StepStatus.PENDING)
    # Parents not succeeded yet: lowered in each parent's success transaction;
    # the one that brings it to 0 makes the step ready in that transaction.
    waiting = models.IntegerField(default=0)
    attempt = models.PositiveIntegerField(default=0)
    inputs = models.JSONField(null=True, blank=True)
    outputs = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    queue = models.CharField(max_length=100, default="default")
    priority = models.PositiveSmallIntegerField(default=5)
    worker = models.CharField(max_length=200, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    enqueued = models.DateTimeField(null=True, blank=True)
    # When the current (latest) attempt started; each attempt's row keeps its own.
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    # Renewed by the running worker's heartbeat; past it, the reaper puts the
    # step back in its queue (the worker is presumed dead).
    lease_expires = models.DateTimeField(null=True, blank=True)
    reused_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # A waiting step's wait (execution/waits.py): {"kind": "approval" | "event" | "time", ...}, and
    # when it ends by itself (a timeout or the time waited for), which the heartbeat's sweep finds.
    wait = models.JSONField(null=True, blank=True)
    wait_until = models.DateTimeField(null=True, blank=True)
    # A map's item (execution/mapping.py): the map step it belongs to, its position and its
    # value ({{ item }}, {{ index }}). On the map step itself: its items not final yet, counted
    # down in the transaction that ends each one, like Run.unfinished.
    # No index of its own: steprun_map_items leads with it.
    map_step = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    item_index = models.PositiveIntegerField(null=True, blank=True)
    item = models.JSONField(null=True, blank=True)
    items_left = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["run", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "step_id"], name="unique_step_per_run")]
        indexes = [
            # Metrics: step runs by status over time.
            models.Index(fields=["status", "finished"], name="steprun_status_finished"),
            # The reaper: running steps whose lease expired.
            models.Index(fields=["status", "lease_expires"], name="steprun_status_lease"),
            models.Index(fields=["status", "wait_until"], name="steprun_status_wait_until"),
            # A map's next pending items, its counts by status, its items in order.
            models.Index(fields=["map_step", "status", "item_index"], name="steprun_map_items"),
            # A run's own steps without its maps' items (finishing a run, its page, its API detail). Without
            # it PostgreSQL, misjudging how many rows have no map step, intersected the run's index with
            # every such row of the table: 7 ms at each run's finish on 150,000 rows.
            models.Index(
                fields=["run", "step_id"], name="steprun_run_plan_steps", condition=models.Q(map_step__isnull=True)
            ),
        ]

    def __str__(self):
        return f"{self.step_id} of run {self.run_id}"

    @property
    def is_item(self) -> bool:
        return self.map_step_id is not None

    @classmethod
    def items_by_status(cls, map_step_ids) -> dict[int, dict[str, int]]:
        """{map step run id: {status: how many of its items}}: one GROUP BY on steprun_map_items.

        Maps without items (not started, or over an empty list) are left out.
        """
        rows = (
            cls.objects.filter(map_step_id__in=list(map_step_ids))
            .values_list("map_step_id", "status")
            .annotate(n=models.Count("id"))
            .order_by()
        )
        found: dict[int, dict[str, int]] = {}
        for map_step_id, status, n in rows:
            found.setdefault(map_step_id, {})[status] = n
        return found

    def ended_attempt(self, status: str, finished, error: str = "", delay: float = 0.0) -> "StepAttempt":
        """The (unsaved) row of this step's current attempt, ended now with `status`.

        Written by whoever ends the attempt: its worker, a cancel, or the reaper.
        """
        return StepAttempt(
            step_run=self,
            number=self.attempt,
            status=status,
            worker=self.worker,
            error=error,
            started=self.started or finished,
            finished=finished,
            delay=delay,
        )


class PostedEvent(models.Model):
    """An event posted to a run (the API, a webhook, the CLI) while no step of it waited for it.

    Kept for the first core.wait_for_event step of the run that waits for that name
    (`taken_by`), oldest first: an event that comes a moment early is not lost
    (execution/waits.py).
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="posted_events")
    name = models.CharField(max_length=200)
    payload = models.JSONField(null=True, blank=True)
    posted = models.DateTimeField(auto_now_add=True)
    taken_by = models.ForeignKey(StepRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["run", "posted", "id"]
        indexes = [models.Index(fields=["run", "name", "taken_by"], name="postedevent_run_name")]

    def __str__(self):
        return f"event {self.name} of run {self.run_id}"


class StepAttempt(models.Model):
    """One try of a step: a row per attempt feeds the timeline and metrics."""

    step_run = models.ForeignKey(StepRun, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=AttemptStatus.choices, default=AttemptStatus.RUNNING)
    worker = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    started = models.DateTimeField()
    finished = models.DateTimeField(null=True, blank=True)
    # The backoff waited before this attempt (seconds), as computed.
    delay = models.FloatField(default=0)
    # What the component logged (context.log, and Python logging in its call thread): redacted lines
    # joined by newlines, bounded by OAWEB_STEP_LOG_BYTES (execution/step_logs.py); "" when it logged
    # nothing. Written with the attempt's row; the database's default serves the writes that leave it out.
    log = models.TextField(blank=True, default="", db_default="")

    class Meta:
        ordering = ["step_run", "number"]
        constraints = [models.UniqueConstraint(fields=["step_run", "number"], name="unique_attempt_number")]

    def __str__(self):
        return f"attempt {self.number} of {self.step_run}"
