from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from tests.conftest import noop_definition
from tests.web.conftest import make_run
from workflows.execution.models import Run
from workflows.execution.workers import Worker


def test_dashboard_needs_a_login(client, db):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_dashboard_refuses_post(owner_client):
    assert owner_client.post(reverse("dashboard")).status_code == 405


def test_dashboard_counts_the_last_hour_and_what_runs_now(owner_client, make_workflow, other_team):
    from workflows.models import Workflow

    workflow = make_workflow()
    now = timezone.now()
    make_run(workflow, run_status="running")
    make_run(workflow, run_status="pending")
    ok = make_run(workflow, run_status="succeeded")
    bad = make_run(workflow, run_status="failed")
    old = make_run(workflow, run_status="failed")
    Run.objects.filter(pk__in=[ok.pk, bad.pk]).update(finished=now - timedelta(minutes=10))
    Run.objects.filter(pk=old.pk).update(finished=now - timedelta(hours=2))
    foreign, _ = Workflow.import_definition(noop_definition("foreign"), team=other_team)
    make_run(foreign.workflow, run_status="running")
    Worker.objects.create(name="h:1", hostname="h", pid=1, last_heartbeat=now)
    Worker.objects.create(name="h:2", hostname="h", pid=2, last_heartbeat=now - timedelta(minutes=5))

    context = owner_client.get(reverse("dashboard")).context
    assert (context["running"], context["succeeded"], context["failed"]) == (2, 1, 1)
    names = [w.name for w in context["workers"]]
    assert "h:1" in names and "h:2" not in names
    assert foreign.workflow_id not in {run.workflow_id for run in context["recent"]}


def test_dashboard_opens_its_socket_and_has_an_empty_state(owner_client):
    html = owner_client.get(reverse("dashboard")).content.decode()
    assert 'ws-connect="/ws/dashboard/"' in html
    assert "No runs yet" in html
