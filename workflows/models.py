"""Teams, workflows and their versions, runs and step runs.

Ownership: a workflow belongs to one team; a user sees and changes the
workflows (and their runs) of the teams they belong to; staff see all.
"""

import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.http import Http404

from workflows.execution.status import AttemptStatus, RunStatus, StepStatus

TRIGGERS = ["manual", "cli", "api", "schedule", "webhook", "rerun"]


def content_hash(definition: dict) -> str:
    """Hash of a definition's content, ignoring its `version` label.

    Saving the same content under another label is not a change; saving new
    content under an old label gets the next free patch version.
    """
    content = {key: value for key, value in definition.items() if key != "version"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @classmethod
    def default(cls) -> "Team":
        team, _ = cls.objects.get_or_create(name=settings.OAWEB_DEFAULT_TEAM)
        return team

    @classmethod
    def for_new_workflow(cls, user, name: str | None = None) -> "Team":
        """The team a new workflow of `user` belongs to: the named one, else their only team.

        Staff may name any team, and with no team of their own get the
        default one. TeamChoiceError says why no team fits.
        """
        teams = cls.objects.all() if user.is_staff else user.teams.all()
        if name:
            team = teams.filter(name=name).first()
            if team is None:
                raise TeamChoiceError(f"you are not in a team named {name!r}")
            return team
        mine = list(user.teams.all()[:2])
        if len(mine) == 1:
            return mine[0]
        if not mine and user.is_staff:
            return cls.default()
        raise TeamChoiceError("name the owning team: you are in none or several")


class TeamChoiceError(Exception):
    """No team fits a new workflow (Team.for_new_workflow)."""


class WorkflowQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_staff:
            return self
        return self.filter(team__members=user)


class Workflow(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="workflows")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = WorkflowQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.slug

    def latest_version(self) -> "WorkflowVersion | None":
        return self.versions.order_by("-created", "-id").first()

    def add_version(self, definition: dict, author=None) -> tuple["WorkflowVersion", bool]:
        """Store `definition` as a new version unless identical content exists.

        Returns (version, created). A definition reusing an existing label
        with new content is stored under the next free patch version.
        """
        digest = content_hash(definition)
        existing = self.versions.filter(content_hash=digest).first()
        if existing:
            return existing, False
        label = definition.get("version") or "0.1.0"
        taken = set(self.versions.values_list("version", flat=True))
        while label in taken:
            label = bump_patch(label)
        stored = {**definition, "version": label}
        try:
            with transaction.atomic():
                version = self.versions.create(definition=stored, version=label, content_hash=digest, author=author)
        except IntegrityError:  # the same content saved concurrently
            return self.versions.get(content_hash=digest), False
        self.name = definition.get("name") or self.name
        self.description = definition.get("description", self.description)
        self.tags = definition.get("tags", self.tags)
        self.save(update_fields=["name", "description", "tags", "updated"])
        return version, True

    @classmethod
    def import_definition(cls, definition: dict, team: Team, author=None) -> tuple["WorkflowVersion", bool]:
        """Create the workflow named by `definition["id"]` or add a version to it."""
        with transaction.atomic():
            workflow, _ = cls.objects.get_or_create(
                slug=definition["id"],
                defaults={"name": definition.get("name") or definition["id"], "team": team},
            )
            return workflow.add_version(definition, author=author)


def bump_patch(label: str) -> str:
    core, _, _ = label.partition("-")
    major, minor, patch = (core.split(".") + ["0", "0", "0"])[:3]
    return f"{major}.{minor}.{int(patch) + 1}"


class WorkflowVersion(models.Model):
    """An immutable definition. Runs are pinned to the version they started with."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=50)
    definition = models.JSONField()
    content_hash = models.CharField(max_length=64)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workflow", "-created"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "version"], name="unique_version_label"),
            # add_version's "identical content creates nothing" relies on this.
            models.UniqueConstraint(fields=["workflow", "content_hash"], name="unique_version_content"),
        ]

    def __str__(self):
        return f"{self.workflow.slug}@{self.version}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("a workflow version is immutable; add a new version instead")
        super().save(*args, **kwargs)


class RunQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_staff:
            return self
        return self.filter(workflow__team__members=user)


class Run(models.Model):
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="runs")
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
    step_id = models.CharField(max_length=100)
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

    class Meta:
        ordering = ["run", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "step_id"], name="unique_step_per_run")]
        indexes = [
            # Metrics: step runs by status over time.
            models.Index(fields=["status", "finished"], name="steprun_status_finished"),
            # The reaper: running steps whose lease expired.
            models.Index(fields=["status", "lease_expires"], name="steprun_status_lease"),
        ]

    def __str__(self):
        return f"{self.step_id} of run {self.run_id}"

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

    class Meta:
        ordering = ["step_run", "number"]
        constraints = [models.UniqueConstraint(fields=["step_run", "number"], name="unique_attempt_number")]

    def __str__(self):
        return f"attempt {self.number} of {self.step_run}"


def get_workflow_for(user, slug: str) -> Workflow:
    """The workflow if `user` may see it, else 404 (never 403: no existence leak)."""
    try:
        return Workflow.objects.visible_to(user).get(slug=slug)
    except Workflow.DoesNotExist:
        raise Http404("no such workflow") from None


def get_run_for(user, run_id: int) -> Run:
    try:
        return Run.objects.visible_to(user).select_related("workflow", "version").get(pk=run_id)
    except (Run.DoesNotExist, ValueError):
        raise Http404("no such run") from None


from workflows.execution.idempotency import IdempotencyKey  # noqa: E402,F401
from workflows.execution.workers import Worker  # noqa: E402,F401
from workflows.rollups import GaugeSample, MetricRollup, PendingRollup  # noqa: E402,F401  (metrics, issue 6)
from workflows.tokens import ApiToken  # noqa: E402,F401
from workflows.triggers import Schedule, WebhookTrigger  # noqa: E402,F401
