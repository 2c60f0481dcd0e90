"""Who may read /metrics: it names every team's workflows, so not anyone once DEBUG is off.

With a token set, Prometheus sends it (tests/metrics/test_prometheus.py);
with none and DEBUG off, anonymous callers get 403 saying what to set;
`make run` (DEBUG on) keeps it open; staff, who see every team anyway, may
read it from their browser session.
"""

import pytest
from django.test import Client

from tests.conftest import noop_definition
from tests.metrics.helpers import finished_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_token(settings):
    settings.OAWEB_METRICS_TOKEN = ""
    settings.DEBUG = False


@pytest.fixture
def secret_workflow(make_workflow):
    workflow = make_workflow(noop_definition("acme-payroll-export"))
    finished_run(workflow, 3, steps=[("core.noop", "succeeded", 1, 0.01)])
    return workflow


def test_anonymous_callers_get_403_naming_the_setting_when_no_token_is_set(no_token, secret_workflow):
    response = Client().get("/metrics")

    assert response.status_code == 403
    assert b"OAWEB_METRICS_TOKEN" in response.content
    assert secret_workflow.slug.encode() not in response.content


def test_a_logged_in_member_who_is_not_staff_gets_403_too(no_token, secret_workflow, login, owner):
    response = login(owner).get("/metrics")

    assert response.status_code == 403
    assert secret_workflow.slug.encode() not in response.content


def test_staff_may_read_it_from_their_session(no_token, secret_workflow, login, staff):
    response = login(staff).get("/metrics")

    assert response.status_code == 200
    assert f'workflow="{secret_workflow.slug}"'.encode() in response.content


def test_staff_sessions_work_beside_a_token(settings, secret_workflow, login, staff):
    settings.OAWEB_METRICS_TOKEN = "s3cret-token"

    assert login(staff).get("/metrics").status_code == 200
    assert Client().get("/metrics").status_code == 401


def test_debug_keeps_it_open_for_make_run(settings, secret_workflow):
    settings.OAWEB_METRICS_TOKEN = ""
    settings.DEBUG = True

    response = Client().get("/metrics")

    assert response.status_code == 200
    assert f'workflow="{secret_workflow.slug}"'.encode() in response.content
