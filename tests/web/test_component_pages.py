"""The component registry pages: the list, one component, where it is used."""

import pytest
from django.urls import reverse

from registry.models import Component
from tests.conftest import noop_definition

XSS = "<script>alert(1)</script>"


@pytest.mark.parametrize("url", ["/components/", "/components/core.noop/"])
def test_anonymous_is_sent_to_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("url", ["/components/", "/components/core.noop/"])
def test_post_is_refused(owner_client, components, url):
    assert owner_client.post(url).status_code == 405


def test_list_shows_the_registry(owner_client, components):
    html = owner_client.get(reverse("component-list")).content.decode()
    assert 'href="/components/core.noop/"' in html
    assert "Return the inputs unchanged." in html


def test_list_search_by_name_or_description(owner_client, components):
    html = owner_client.get(reverse("component-list"), {"q": "unchanged"}).content.decode()
    assert "core.noop" in html and "core.sleep" not in html


def test_list_filter_by_kind(owner_client, components):
    html = owner_client.get(reverse("component-list"), {"kind": "transform"}).content.decode()
    assert "core.noop" in html
    for component in Component.objects.exclude(kind="transform"):
        assert f"/components/{component.name}/" not in html


def test_htmx_search_renders_only_the_list_partial(owner_client, components):
    response = owner_client.get(reverse("component-list"), {"q": "noop"}, HTTP_HX_REQUEST="true")
    assert "<html" not in response.content.decode()
    assert "core.noop" in response.content.decode()


def test_list_marks_disabled_components(owner_client, components):
    Component.objects.filter(name="core.noop").update(enabled=False)
    html = owner_client.get(reverse("component-list"), {"q": "core.noop"}).content.decode()
    assert "disabled" in html


def test_detail_shows_description_and_pretty_schemas(owner_client, components):
    Component.objects.filter(name="core.sleep").update(input_schema={"type": "object", "properties": {"s": {}}})
    html = owner_client.get(reverse("component-detail", args=["core.sleep"])).content.decode()
    assert "Inputs (JSON Schema)" in html and "Outputs (JSON Schema)" in html
    assert "&quot;type&quot;: &quot;object&quot;,\n  &quot;properties&quot;" in html


def test_detail_404_for_an_unknown_component(owner_client, components):
    assert owner_client.get(reverse("component-detail", args=["no.such"])).status_code == 404


def test_detail_lists_the_visible_workflows_and_steps_using_it(owner_client, make_workflow, other_team, components):
    make_workflow(noop_definition("mine", steps=2))
    make_workflow(noop_definition("theirs", steps=2), team_=other_team)
    html = owner_client.get(reverse("component-detail", args=["core.noop"])).content.decode()
    assert 'href="/workflows/mine/"' in html
    assert "<code>s1</code>, <code>s2</code>" in html
    assert "/workflows/theirs/" not in html


def test_detail_only_counts_the_latest_version(owner_client, make_workflow, owner, components):
    workflow = make_workflow(noop_definition("moved"))
    definition = noop_definition("moved", steps=1)
    definition["steps"][0]["component"] = "core.sleep"
    definition["steps"][0]["inputs"] = {}
    definition["outputs"] = {}
    workflow.add_version(definition, author=owner)
    html = owner_client.get(reverse("component-detail", args=["core.noop"])).content.decode()
    assert "/workflows/moved/" not in html


def test_pages_escape_descriptions(owner_client, components):
    Component.objects.filter(name="core.noop").update(description=XSS)
    for url in (reverse("component-list"), reverse("component-detail", args=["core.noop"])):
        html = owner_client.get(url).content.decode()
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;" in html
