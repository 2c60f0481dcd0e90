"""A database from an earlier release upgrades cleanly: every row it held is still there after `migrate`.

The schema is taken back to what the last release shipped (workflows
0007_step_counters), filled through the historical models, then migrated
forward to today's.
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.slow

RELEASED = [("workflows", "0007_step_counters")]


def migrate_to(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    executor = MigrationExecutor(connection)
    return [key for key in executor.loader.graph.leaf_nodes() if key[0] == "workflows"]


@pytest.fixture
def released_schema(transactional_db):
    apps = migrate_to(RELEASED)
    yield apps
    migrate_to(latest())  # whatever the test did, the next test gets today's schema


def fill(apps) -> dict:
    """One of each kind of row the release could hold; returns their ids."""
    now = timezone.now()
    team = apps.get_model("workflows", "Team").objects.create(name="upgraders")
    user = apps.get_model("auth", "User").objects.create(username="ada")
    workflow = apps.get_model("workflows", "Workflow").objects.create(slug="old", name="Old", team=team)
    definition = {"id": "old", "steps": [{"id": "a", "component": "core.noop", "inputs": {}}]}
    version = apps.get_model("workflows", "WorkflowVersion").objects.create(
        workflow=workflow, version="1.0.0", definition=definition, content_hash="x" * 64, author=user
    )
    run = apps.get_model("workflows", "Run").objects.create(
        workflow=workflow, version=version, status="succeeded", inputs={"n": 1}, outputs={"v": 2}, created_by=user
    )
    step = apps.get_model("workflows", "StepRun").objects.create(
        run=run, step_id="a", component="core.noop", status="succeeded", attempt=1, outputs={"v": 2}, finished=now
    )
    attempt = apps.get_model("workflows", "StepAttempt").objects.create(
        step_run=step, number=1, status="succeeded", started=now, finished=now
    )
    schedule = apps.get_model("workflows", "Schedule").objects.create(
        workflow=workflow, name="nightly", cron="0 3 * * *"
    )
    hook = apps.get_model("workflows", "WebhookTrigger").objects.create(
        workflow=workflow, name="ci", token_hash="d" * 64, token_prefix="owh_abcdefgh"
    )
    token = apps.get_model("workflows", "ApiToken").objects.create(user=user, prefix="oat_abcdefgh", digest="e" * 64)
    return {
        "Run": run.pk,
        "StepRun": step.pk,
        "StepAttempt": attempt.pk,
        "Schedule": schedule.pk,
        "WebhookTrigger": hook.pk,
        "ApiToken": token.pk,
        "WorkflowVersion": version.pk,
    }


def test_a_released_database_keeps_every_row_through_the_upgrade(released_schema):
    ids = fill(released_schema)
    counts = {model: released_schema.get_model("workflows", model).objects.count() for model in ids}

    upgraded = migrate_to(latest())

    for model, pk in ids.items():
        rows = upgraded.get_model("workflows", model).objects
        assert rows.count() == counts[model], model
        assert rows.filter(pk=pk).exists(), model
    run = upgraded.get_model("workflows", "Run").objects.get(pk=ids["Run"])
    assert (run.status, run.inputs, run.outputs) == ("succeeded", {"n": 1}, {"v": 2})
    assert run.steps_created  # a run from before deferred starts had its steps written at once
    step = upgraded.get_model("workflows", "StepRun").objects.get(pk=ids["StepRun"])
    assert step.outputs == {"v": 2}
