"""The metrics page: known runs give known numbers in its tables; ranges; access; htmx; empty state."""

import json
import re
from datetime import timedelta

import pytest

from tests.conftest import make_user, noop_definition
from tests.metrics.helpers import finished_run, recently

pytestmark = pytest.mark.django_db
URL = "/stats/"


def cells(html: str, row_attribute: str) -> dict[str, str]:
    """{data-col: text} of the table row marked `row_attribute` (e.g. data-workflow="hello")."""
    row = re.search(rf"<tr {row_attribute}>(.*?)</tr>", html, re.S)
    assert row, f"no row {row_attribute}"
    return dict(re.findall(r'data-col="([^"]+)">(.*?)</td>', row.group(1), re.S))


def chart_data(html: str) -> dict:
    return json.loads(re.search(r'<script id="metrics-data" type="application/json">(.*?)</script>', html, re.S)[1])


def test_known_runs_show_their_counts_and_percentiles_in_the_tables(known_runs, owner, login):
    response = login(owner).get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert cells(html, 'data-workflow="hello"') == {
        "runs": "100",
        "succeeded": "90",
        "failed": "10",
        "cancelled": "0",
        "failure-rate": "10.0 %",
        "p50": "50 s",
        "p95": "1 min 35 s",
        "p99": "1 min 39 s",
        "steps": "100",
        "step-failure-rate": "10.0 %",
    }
    component = cells(html, 'data-component="core.noop"')
    assert (component["steps"], component["failed"], component["failure-rate"]) == ("100", "10", "10.0 %")
    assert (component["p50"], component["p95"], component["p99"]) == ("5.0 s", "9.5 s", "9.9 s")
    assert '<div class="stat" data-stat="runs">100</div>' in html


def test_the_charts_get_their_series_from_the_server(known_runs, owner, login):
    data = chart_data(login(owner).get(URL).content.decode())

    assert len(data["x"]) == 60 and data["step"] == 60
    assert sum(data["runs"]) == 100 and sum(data["steps"]) == 100  # one-minute points: per minute = count
    point = data["runs"].index(100)
    assert data["run_p50"][point] == pytest.approx(50) and data["run_errors"][point] == pytest.approx(10)
    assert data["step_p99"][point] == pytest.approx(9.9)


def test_the_range_selects_which_runs_count(workflow, owner, login):
    finished_run(workflow, 1.0)
    finished_run(workflow, 1.0, finished=recently() - timedelta(hours=3))
    finished_run(workflow, 1.0, finished=recently() - timedelta(days=3))
    client = login(owner)

    counts = {}
    for key in ("1h", "24h", "7d"):
        html = client.get(URL, {"range": key}).content.decode()
        counts[key] = cells(html, 'data-workflow="hello"')["runs"]
        assert f'href="?range={key}" ' in html and 'aria-current="true">' in html

    assert counts == {"1h": "1", "24h": "2", "7d": "3"}
    assert len(chart_data(client.get(URL, {"range": "24h"}).content.decode())["x"]) == 288
    assert len(chart_data(client.get(URL, {"range": "7d"}).content.decode())["x"]) == 168


def test_an_unknown_range_falls_back_to_an_hour(known_runs, owner, login):
    response = login(owner).get(URL, {"range": "1y"})

    assert response.status_code == 200 and len(chart_data(response.content.decode())["x"]) == 60


def test_htmx_refresh_gets_the_panel_alone(known_runs, owner, login):
    html = login(owner).get(URL, {"range": "24h"}, HTTP_HX_REQUEST="true").content.decode()

    assert "<html" not in html
    assert html.lstrip().startswith('<div id="metrics"') and 'hx-trigger="every 10s"' in html
    assert 'hx-get="/stats/?range=24h"' in html


def test_a_user_sees_only_their_teams_workflows_and_staff_all(known_runs, outsider, staff, login, make_workflow, team):
    other = make_workflow(noop_definition("theirs"), team_=outsider.teams.first())
    finished_run(other, 2.0)

    outsider_html = login(outsider).get(URL).content.decode()
    staff_html = login(staff).get(URL).content.decode()

    assert 'data-workflow="theirs"' in outsider_html and 'data-workflow="hello"' not in outsider_html
    assert 'data-workflow="theirs"' in staff_html and 'data-workflow="hello"' in staff_html


def test_no_runs_shows_an_empty_state(owner, login):
    html = login(make_user("newcomer")).get(URL).content.decode()

    assert "No runs finished in the last 1 hour" in html and "per-workflow" not in html


def test_anonymous_is_sent_to_login_and_post_is_refused(owner, login):
    from django.test import Client

    assert Client().get(URL).status_code == 302
    assert login(owner).post(URL).status_code == 405


def test_the_page_loads_the_vendored_chart_library_and_its_script(owner, login):
    html = login(owner).get(URL).content.decode()

    assert "vendor/uPlot-1.6.32.iife.min.js" in html and "oaweb/metrics.js" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing from another host (a CDN)
