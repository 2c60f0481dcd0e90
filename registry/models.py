from django.db import models, transaction

from registry import generation
from registry.catalog import KINDS, ComponentSpec

KIND_CHOICES = [(kind, kind) for kind in KINDS]


class Component(models.Model):
    """A component as the database knows it: browsable, and can be disabled.

    The code (registry/catalog.py) declares components; `sync` writes them
    here. Every change bumps the lookup cache's generation.
    """

    name = models.CharField(max_length=100, unique=True)
    version = models.CharField(max_length=50)
    kind = models.CharField(max_length=20, choices=KIND_CHOICES, default="tool")
    description = models.TextField(blank=True)
    input_schema = models.JSONField(default=dict)
    output_schema = models.JSONField(default=dict)
    entrypoint = models.CharField(max_length=300)
    is_class = models.BooleanField(default=False)
    queue = models.CharField(max_length=100, default="default")
    timeout = models.FloatField(null=True, blank=True, help_text="seconds; empty for the global default")
    retry = models.JSONField(null=True, blank=True)
    rate_limit = models.CharField(max_length=20, blank=True, help_text='Celery syntax, e.g. "10/s" or "100/m"')
    tags = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} {self.version}"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        transaction.on_commit(generation.invalidate)

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        transaction.on_commit(generation.invalidate)
        return result

    def apply_spec(self, spec: ComponentSpec) -> bool:
        """Copy the code's declaration onto this row; True if anything changed.

        `enabled` is the operator's choice and is kept.
        """
        values = {
            "version": spec.version,
            "kind": spec.kind,
            "description": spec.description,
            "input_schema": spec.input_schema,
            "output_schema": spec.output_schema,
            "entrypoint": spec.entrypoint,
            "is_class": spec.is_class,
            "queue": spec.queue,
            "timeout": spec.timeout,
            "retry": spec.retry,
            "rate_limit": spec.rate_limit,
            "tags": list(spec.tags),
        }
        changed = [key for key, value in values.items() if getattr(self, key) != value]
        for key in changed:
            setattr(self, key, values[key])
        return bool(changed) or self._state.adding

    @classmethod
    def sync(cls, specs: list[ComponentSpec]) -> dict[str, list[str]]:
        """Write the catalog to the database; report what was created/updated."""
        report = {"created": [], "updated": [], "unchanged": []}
        existing = {row.name: row for row in cls.objects.all()}
        with transaction.atomic():
            for spec in sorted(specs, key=lambda s: s.name):
                row = existing.get(spec.name) or cls(name=spec.name)
                adding = row._state.adding
                if row.apply_spec(spec):
                    row.save()
                    report["created" if adding else "updated"].append(spec.name)
                else:
                    report["unchanged"].append(spec.name)
        return report
