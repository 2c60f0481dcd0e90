"""Teams, workflows and their versions; the other domains' models are imported here for Django.

Ownership: a workflow belongs to one team; a user sees and changes the
workflows (and their runs) of the teams they belong to; staff see all.
"""

import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, models, transaction

# Django registers the models this module imports: each domain keeps its
# own models, next to the code that uses them (docs/architecture.md).
from workflows.execution.idempotency import IdempotencyKey  # noqa: F401
from workflows.execution.models import Run, StepAttempt, StepRun  # noqa: F401
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


class WorkflowQuerySet(models.QuerySet):
    def visible_to(self, user):
        return visible_to(self, user)


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
