"""Which events each kind of rule turns into a delivery: once per run and rule, in its team's scope only."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.alerts.helpers import queued_step, rule, run_of, webhook
from workflows.alerts import evaluation
from workflows.alerts.models import AlertDelivery, AlertRule
from workflows.execution.workers import Worker

pytestmark = pytest.mark.django_db


def keys():
    return sorted(AlertDelivery.objects.values_list("key", flat=True))


def test_a_failed_run_makes_one_delivery_however_often_it_is_looked_at(team, make_workflow):
    channel, _ = webhook(team)
    failed = rule(team, channel)
    run = run_of(make_workflow(), "failed")
    run_of(run.workflow, "succeeded")

    assert evaluation.evaluate() == 1
    assert evaluation.evaluate() == 0  # the watermark moved on, and the key is taken anyway
    AlertRule.objects.update(checked_until=timezone.now() - timedelta(hours=1))
    assert evaluation.evaluate() == 0

    delivery = AlertDelivery.objects.get()
    assert delivery.key == f"rule:{failed.pk}:run:{run.pk}" and delivery.event == "run.failed"
    assert delivery.payload["run"]["id"] == run.pk and delivery.payload["run"]["url"] == f"/runs/{run.pk}/"
    assert delivery.payload["message"] == f"Run {run.pk} of hello failed: step failed: x"
    assert (delivery.payload["team"], delivery.payload["workflow"]["id"]) == ("alpha", "hello")


def test_a_success_after_a_failure_is_a_recovery(team, make_workflow):
    channel, _ = webhook(team)
    recovered = rule(team, channel, "run_recovered")
    workflow = make_workflow()
    run_of(workflow, "succeeded", finished_ago=30)
    run_of(workflow, "failed", finished_ago=20)
    back = run_of(workflow, "succeeded", finished_ago=10)
    run_of(workflow, "succeeded", finished_ago=5)

    evaluation.evaluate()

    assert keys() == [f"rule:{recovered.pk}:run:{back.pk}"]


def test_a_long_run_alerts_while_it_runs_and_not_again_when_it_ends(team, make_workflow):
    channel, _ = webhook(team)
    long = rule(team, channel, "run_long", threshold_seconds=60)
    workflow = make_workflow()
    going = run_of(workflow, "running", seconds=120)
    run_of(workflow, "running", seconds=10)
    quick = run_of(workflow, "succeeded", seconds=5)

    evaluation.evaluate()
    going.status, going.finished = "succeeded", timezone.now()
    going.save()
    evaluation.evaluate()

    assert keys() == [f"rule:{long.pk}:run:{going.pk}"]
    assert quick.pk not in AlertDelivery.objects.values_list("run_id", flat=True)


def test_a_step_waiting_in_its_queue_too_long(team, make_workflow):
    channel, _ = webhook(team)
    waiting = rule(team, channel, "step_queued_long", threshold_seconds=30)
    run = run_of(make_workflow(), "running")
    queued_step(run, waited=45)
    queued_step(run_of(run.workflow, "running"), waited=5)

    evaluation.evaluate()

    [delivery] = AlertDelivery.objects.all()
    assert delivery.key == f"rule:{waiting.pk}:run:{run.pk}"
    assert delivery.payload["step"]["queue"] == "default" and delivery.payload["step"]["waited_seconds"] > 30


def test_no_worker_on_a_queue_alerts_once_per_outage(team):
    channel, _ = webhook(team)
    idle = rule(team, channel, "no_worker", threshold_seconds=30, queue="io")
    AlertRule.objects.filter(pk=idle.pk).update(created=timezone.now() - timedelta(minutes=10))
    seen = timezone.now() - timedelta(minutes=2)
    Worker.objects.create(name="w:1", hostname="w", pid=1, queues=["io"], last_heartbeat=seen)
    Worker.objects.create(name="w:2", hostname="w", pid=2, queues=["default"], last_heartbeat=timezone.now())

    evaluation.evaluate()
    evaluation.evaluate()
    Worker.objects.filter(name="w:1").update(last_heartbeat=timezone.now())  # back: no alert while it beats
    evaluation.evaluate()

    [delivery] = AlertDelivery.objects.all()
    assert delivery.event == "queue.no_worker" and delivery.payload["queue"]["name"] == "io"
    assert delivery.key == f"rule:{idle.pk}:queue:io:{seen.timestamp():.0f}"


def test_a_rule_sees_its_own_team_and_workflow_only(team, other_team, make_workflow):
    channel, _ = webhook(team)
    hello = make_workflow()
    other = make_workflow({**hello.latest_version().definition, "id": "other"})
    theirs = make_workflow({**hello.latest_version().definition, "id": "theirs"}, team_=other_team)
    only_hello = rule(team, channel, workflow=hello)
    mine = run_of(hello, "failed")
    run_of(other, "failed")
    run_of(theirs, "failed")

    evaluation.evaluate()

    assert keys() == [f"rule:{only_hello.pk}:run:{mine.pk}"]


def test_runs_finished_before_a_rule_existed_do_not_alert(team, make_workflow):
    channel, _ = webhook(team)
    run_of(make_workflow(), "failed", finished_ago=600)
    rule(team, channel)

    assert evaluation.evaluate() == 0


def test_paused_rules_and_channels_do_not_alert(team, make_workflow):
    channel, _ = webhook(team)
    rule(team, channel, enabled=False)
    other_channel, _ = webhook(team, name="paused")
    other_channel.enabled = False
    other_channel.save()
    rule(team, other_channel, name="on a paused channel")
    run_of(make_workflow(), "failed")

    assert evaluation.evaluate() == 0
