"""Teams, workflows and their versions; the other domains' models are imported here for Django.

Ownership: a workflow belongs to one team; a user sees and changes the
workflows (and their runs) of the teams they belong to; staff see all.
"""

import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Count, F, FloatField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Lower
from django.utils import timezone

# Django registers the models this module imports: each domain keeps its
# own models, next to the code that uses them (docs/architecture.md).
from workflows.alerts.models import AlertChannel, AlertDelivery, AlertRule  # noqa: F401  (issue 20)
from workflows.audit.models import AuditEvent  # noqa: F401  (issue 20)
from workflows.credentials.models import Credential  # noqa: F401  (issue 20)
from workflows.execution.idempotency import IdempotencyKey  # noqa: F401
from workflows.execution.models import Run, StepAttempt, StepRun  # noqa: F401
from workflows.execution.status import RunStatus
from workflows.execution.workers import Worker  # noqa: F401
from workflows.metrics.rollups import GaugeSample, MetricRollup, PendingRollup  # noqa: F401
from workflows.tokens import ApiToken  # noqa: F401
from workflows.triggers.models import Schedule, WebhookTrigger  # noqa: F401
from workflows.visibility import visible_to


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


# The workflow list's failure rate counts this many of a workflow's latest runs that succeeded or failed
# (a cancelled run is nobody's failure).
FAILURE_RATE_RUNS = 20
# The workflow list's orders: ?sort= -> the ORDER BY (with_run_summary supplies the run columns).
# Ties fall back to the slug, so a page never repeats or skips a row.
WORKFLOW_SORTS = {
    "name": (Lower("name"), "slug"),
    "last_run": (F("last_run_created").desc(nulls_last=True), "slug"),
    "failure_rate": (F("failure_rate").desc(nulls_last=True), F("last_run_created").desc(nulls_last=True), "slug"),
}


class WorkflowQuerySet(models.QuerySet):
    def visible_to(self, user):
        return visible_to(self, user)

    def active(self):
        return self.filter(archived_at__isnull=True)

    def archived(self):
        return self.filter(archived_at__isnull=False)

    def with_run_summary(self, recent: int = FAILURE_RATE_RUNS):
        """Each workflow with its last run (id, status, created) and failure rate, in the same one query.

        failure_rate: failed / (succeeded + failed) over its `recent` latest
        such runs, None when it has none. Correlated subqueries, so the list
        costs one query whatever its length; they use the run_workflow_created index.
        """
        last_run = Run.objects.filter(workflow=OuterRef("pk")).order_by("-created", "-id")
        ended = Run.objects.filter(workflow=OuterRef("pk"), status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED])
        # The id of the `recent`-th latest ended run: the counts below start there (or at 0, with fewer runs).
        oldest_counted = Subquery(ended.order_by("-id").values("pk")[recent - 1 : recent])
        counted = Run.objects.filter(
            workflow=OuterRef("pk"),
            status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED],
            pk__gte=OuterRef("rate_from"),
        )
        counts = counted.values("workflow").annotate(
            n=Count("pk"), failed=Count("pk", filter=Q(status=RunStatus.FAILED))
        )
        return self.annotate(
            last_run_id=Subquery(last_run.values("pk")[:1]),
            last_run_status=Subquery(last_run.values("status")[:1]),
            last_run_created=Subquery(last_run.values("created")[:1]),
            rate_from=Coalesce(oldest_counted, Value(0)),
            rate_runs=Coalesce(Subquery(counts.values("n")), Value(0)),
            failure_rate=Cast(Subquery(counts.values("failed")), FloatField())
            / Cast(Subquery(counts.values("n")), FloatField()),
        )

    def sorted_by(self, sort: str):
        """Ordered by one of WORKFLOW_SORTS (after with_run_summary); an unknown name sorts by name."""
        return self.order_by(*WORKFLOW_SORTS.get(sort, WORKFLOW_SORTS["name"]))


class Workflow(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="workflows")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    # Set: the workflow is archived. It is left out of the list by default and starts no run
    # (execution.runs refuses), while its versions and runs stay readable.
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = WorkflowQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.slug

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def set_archived(self, archived: bool) -> bool:
        """Archive or unarchive; False when it already was (a conditional UPDATE: two clicks change it once)."""
        rows = Workflow.objects.filter(pk=self.pk, archived_at__isnull=archived)
        moment = timezone.now() if archived else None
        changed = rows.update(archived_at=moment) == 1
        if changed:
            self.archived_at = moment
        else:
            self.refresh_from_db(fields=["archived_at"])
        return changed

    def has_runs(self) -> bool:
        return self.runs.exists()

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
