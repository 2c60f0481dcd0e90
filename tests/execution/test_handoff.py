"""A child that reads only its parent gets the parent's outputs in its task message."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from oaweb.celery import app
from tests.conftest import noop_definition
from workflows.execution import embedded, heartbeat, runner, workers
from workflows.execution.messages import StepMessage
from workflows.execution.models import StepRun
from workflows.execution.runs import start_run
from workflows.models import Workflow


@pytest.fixture(autouse=True)
def steps_run_only_here(monkeypatch):
    """The test runs each step itself: no embedded worker, no heartbeat or reaper (they would outlive it)."""
    monkeypatch.setattr(embedded, "ensure_embedded_worker", lambda: None)
    monkeypatch.setattr(heartbeat, "ensure_maintenance_thread", lambda: None)
    # Not a worker: nothing is continued here, every child goes through the broker.
    monkeypatch.setitem(workers.identity, "queues", [])


def execute_step(step_run_id, upstream=None):
    runner.execute(StepMessage(step_run_id, upstream=upstream))


@pytest.fixture
def sent(monkeypatch):
    """Every step task put on the broker: {step run id: its kwargs}; nothing runs by itself."""
    messages = {}
    monkeypatch.setattr(app, "send_task", lambda name, args, kwargs, **options: messages.update({args[0]: kwargs}))
    return messages


def chain(team, value):
    definition = noop_definition("handoff", steps=2)
    definition["steps"][0]["inputs"] = {"value": value}
    version, _ = Workflow.import_definition(definition, team=team)
    run = start_run(version, {})
    return run, StepRun.objects.get(run=run, step_id="s1"), StepRun.objects.get(run=run, step_id="s2")


def test_the_parents_outputs_travel_with_the_child_and_spare_it_a_query(
    components, team, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run, first, second = chain(team, "hello")
        execute_step(first.pk)

    assert sent[second.pk]["upstream"] == {"s1": {"value": "hello"}}
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        execute_step(second.pk, upstream=sent[second.pk]["upstream"])
    second.refresh_from_db()
    assert second.status == "succeeded" and second.inputs == {"value": "hello"}
    assert not [query for query in queries if "outputs FROM" in query["sql"] and "SELECT" in query["sql"]]


def test_large_outputs_stay_out_of_the_message(components, team, sent, django_capture_on_commit_callbacks):
    large = "x" * (runner.HANDOFF_MAX_BYTES + 1)
    with django_capture_on_commit_callbacks(execute=True):
        run, first, second = chain(team, large)
        execute_step(first.pk)

    assert "upstream" not in sent[second.pk]
    with django_capture_on_commit_callbacks(execute=True):
        execute_step(second.pk)
    second.refresh_from_db()
    assert second.status == "succeeded" and second.inputs == {"value": large}


def test_a_message_without_every_output_the_step_reads_falls_back_to_the_database(
    components, team, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run, first, second = chain(team, "hello")
        execute_step(first.pk)
        execute_step(second.pk, upstream={"elsewhere": {}})
    second.refresh_from_db()
    assert second.status == "succeeded" and second.inputs == {"value": "hello"}
