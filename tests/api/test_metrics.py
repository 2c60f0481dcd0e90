"""The metrics summary counts over a window given as `since` or `hours`."""

import pytest

pytestmark = pytest.mark.django_db


def test_an_empty_window_has_no_counts_and_no_durations(owner_api):
    response = owner_api.get("/api/v1/metrics/summary", {"since": "2999-01-01T00:00:00Z"})

    assert response.status_code == 200
    body = response.json()
    assert body["since"].startswith("2999-01-01")
    assert (body["runs"], body["steps"], body["run_seconds_p50"], body["run_seconds_p95"]) == ({}, {}, None, None)


@pytest.mark.parametrize(
    "query",
    [{"since": "2020-01-01T00:00:00Z", "hours": "3"}, {"since": "last week"}, {"hours": "-1"}, {"hours": "1e9"}],
)
def test_a_bad_window_is_400(owner_api, query):
    assert owner_api.get("/api/v1/metrics/summary", query).status_code == 400
