"""Every list filters and orders by a few explicit query parameters; a bad one is a 400."""

import pytest

from tests.api.conftest import as_user
from tests.conftest import noop_definition
from workflows.models import Workflow
from workflows.tokens import ApiToken

pytestmark = pytest.mark.django_db


def slugs(response):
    return [item["slug"] for item in response.json()["results"]]


@pytest.mark.usefixtures("components")
def test_workflows_are_ordered_and_filtered_by_team_and_text(owner_api, staff, api, make_workflow, other_team):
    for slug in ["beta", "alpha", "gamma"]:
        make_workflow(noop_definition(slug))
    make_workflow(noop_definition("elsewhere"), team_=other_team)

    assert slugs(owner_api.get("/api/v1/workflows/")) == ["alpha", "beta", "gamma"]
    assert slugs(owner_api.get("/api/v1/workflows/?ordering=-slug")) == ["gamma", "beta", "alpha"]
    assert slugs(owner_api.get("/api/v1/workflows/?q=ALP")) == ["alpha"]
    everyone = as_user(api, staff)
    assert slugs(everyone.get(f"/api/v1/workflows/?team={other_team.name}")) == ["elsewhere"]


def test_workflow_pages_do_not_overlap(owner_api, components, make_workflow):
    for number in range(5):
        make_workflow(noop_definition(f"w{number}"))

    first = slugs(owner_api.get("/api/v1/workflows/?limit=2&ordering=-created"))
    second = slugs(owner_api.get("/api/v1/workflows/?limit=2&offset=2&ordering=-created"))
    third = slugs(owner_api.get("/api/v1/workflows/?limit=2&offset=4&ordering=-created"))

    assert sorted(first + second + third) == [f"w{number}" for number in range(5)]


def test_components_are_filtered_by_kind_enabled_and_text(owner_api, components):
    from registry.models import Component

    Component.objects.filter(name="core.sleep").update(enabled=False)

    tools = owner_api.get("/api/v1/components/?kind=tool&limit=200").json()["results"]
    assert tools and {item["kind"] for item in tools} == {"tool"}
    disabled = owner_api.get("/api/v1/components/?enabled=false").json()["results"]
    assert [item["name"] for item in disabled] == ["core.sleep"]
    enabled = owner_api.get("/api/v1/components/?enabled=true&limit=200").json()["results"]
    assert "core.sleep" not in [item["name"] for item in enabled]
    names = [item["name"] for item in owner_api.get("/api/v1/components/?q=core.&ordering=-name").json()["results"]]
    assert names == sorted(names, reverse=True) and "core.noop" in names


def test_versions_are_ordered(owner_api, components, make_workflow):
    make_workflow(noop_definition("evolving"))
    Workflow.objects.get(slug="evolving").add_version({**noop_definition("evolving", steps=3), "version": "1.1.0"})

    oldest_first = owner_api.get("/api/v1/workflows/evolving/versions/?ordering=created").json()["results"]

    assert [item["version"] for item in oldest_first] == ["1.0.0", "1.1.0"]


def test_tokens_are_ordered_and_revoked_ones_are_not_listed(owner, owner_api):
    ApiToken.issue(owner, "z-last")
    gone, _ = ApiToken.issue(owner, "c-revoked")
    gone.revoke()

    names = [item["name"] for item in owner_api.get("/api/v1/tokens/?ordering=name").json()["results"]]

    assert names == ["test", "z-last"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/workflows/?ordering=team__secret",
        "/api/v1/components/?ordering=password",
        "/api/v1/components/?kind=spaceship",
        "/api/v1/components/?enabled=maybe",
        "/api/v1/tokens/?ordering=digest",
        "/api/v1/runs/?ordering=inputs",
        "/api/v1/runs/?status=sleepy",
        "/api/v1/runs/?created_after=yesterday",
    ],
)
def test_unknown_orderings_and_filter_values_are_400(owner_api, components, make_workflow, url):
    make_workflow(noop_definition("evolving"))

    response = owner_api.get(url)

    assert response.status_code == 400
    assert response.json()


def test_an_unknown_version_ordering_is_400(owner_api, components, make_workflow):
    make_workflow(noop_definition("evolving"))

    assert owner_api.get("/api/v1/workflows/evolving/versions/?ordering=definition").status_code == 400
