"""Issue 18, item 8 (the workflow pages' part): Markdown descriptions, the Run form's address, a favicon."""

from django.urls import reverse

from tests.conftest import noop_definition
from tests.web.test_workflow_pages import typed_definition
from workflows.execution.models import Run

HTMX = {"HTTP_HX_REQUEST": "true"}
DESCRIPTION = (
    "Calls `core.noop` **twice**; see [the docs](https://example.com/docs).\n\n"
    "<script>alert(1)</script><img src=x onerror=alert(2)> [bad](javascript:alert(3))"
)


# --- descriptions as Markdown, sanitised --------------------------------------------------------


def test_the_workflow_page_renders_its_description_as_markdown(owner_client, make_workflow):
    make_workflow({**noop_definition("md"), "description": DESCRIPTION})
    html = owner_client.get(reverse("workflow-detail", args=["md"])).content.decode()
    assert "<code>core.noop</code>" in html and "`core.noop`" not in html
    assert "<strong>twice</strong>" in html
    assert '<a href="https://example.com/docs" rel="noopener noreferrer nofollow">the docs</a>' in html


def test_a_description_cannot_bring_scripts_handlers_or_javascript_links(owner_client, make_workflow):
    make_workflow({**noop_definition("md"), "description": DESCRIPTION})
    for url in (reverse("workflow-detail", args=["md"]), reverse("workflow-list")):
        html = owner_client.get(url).content.decode()
        assert "<script>alert(1)" not in html and "alert(1)" not in html  # removed, content and all
        assert "onerror" not in html and "<img" not in html
        assert "javascript:" not in html


def test_the_list_shows_the_description_with_inline_markdown_only(owner_client, make_workflow):
    make_workflow({**noop_definition("md"), "description": DESCRIPTION})
    html = owner_client.get(reverse("workflow-list")).content.decode()
    assert "<code>core.noop</code>" in html and "`core.noop`" not in html
    assert "example.com/docs" not in html  # no links inside the row's own link target area


def test_a_long_description_is_cut_in_the_list_without_breaking_its_markup(owner_client, make_workflow):
    long = "Uses `core.noop` " + "and more words " * 40
    make_workflow({**noop_definition("md"), "description": long})
    html = owner_client.get(reverse("workflow-list")).content.decode()
    row = html.split('<span class="markdown">')[1].split("</span>")[0]
    assert row.startswith("Uses <code>core.noop</code>") and row.endswith("…")


# --- the Run form: the address bar stays on the workflow's page ----------------------------------


def test_the_run_form_posts_through_htmx_and_swaps_itself(owner_client, make_workflow):
    make_workflow(typed_definition())
    html = owner_client.get(reverse("workflow-detail", args=["typed"])).content.decode()
    form = html.split('id="run-form"')[1].split("</section>")[0]
    assert 'hx-target="this"' in form and 'hx-swap="outerHTML"' in form
    assert 'hx-post="/workflows/typed/run/"' in form
    assert 'action="/workflows/typed/run/"' in form  # and without JavaScript, a plain post


def test_a_refused_run_form_comes_back_alone_to_be_swapped_in_place(owner_client, make_workflow, components):
    make_workflow(typed_definition())
    form = {"input-name": "Ada", "input-options": "{not json"}
    response = owner_client.post(reverse("workflow-run", args=["typed"]), form, **HTMX)
    html = response.content.decode()
    assert response.status_code == 400
    assert "<html" not in html and "<title>" not in html
    assert html.count('id="run-form"') == 1 and "not valid JSON" in html
    assert 'value="Ada"' in html  # what was typed stays
    assert not Run.objects.exists()


def test_a_run_started_through_htmx_navigates_to_its_page(owner_client, make_workflow, components):
    make_workflow(typed_definition())
    response = owner_client.post(reverse("workflow-run", args=["typed"]), {"input-name": "Ada"}, **HTMX)
    run = Run.objects.get()
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("run-detail", args=[run.pk])
    assert f"Run {run.pk} of typed started." in owner_client.get(response["HX-Redirect"]).content.decode()


def test_a_plain_post_still_redirects_or_shows_the_page(owner_client, make_workflow, components):
    make_workflow(typed_definition())
    refused = owner_client.post(reverse("workflow-run", args=["typed"]), {"input-options": "{not json"})
    assert refused.status_code == 400 and "<html" in refused.content.decode()
    started = owner_client.post(reverse("workflow-run", args=["typed"]), {"input-name": "Ada"})
    assert started.status_code == 302


# --- a favicon ---------------------------------------------------------------------------------


def test_pages_link_a_favicon_that_is_served(owner_client, client):
    html = owner_client.get(reverse("dashboard")).content.decode()
    assert '<link rel="icon" href="/static/oaweb/favicon.svg" type="image/svg+xml">' in html
    assert '<link rel="icon" href="/static/oaweb/favicon.svg"' in client.get(reverse("login")).content.decode()
    icon = client.get("/static/oaweb/favicon.svg")
    assert icon.status_code == 200
    assert icon["Content-Type"].startswith("image/svg+xml")
    assert b"".join(icon.streaming_content if icon.streaming else [icon.content]).lstrip().startswith(b"<svg")


def test_favicon_ico_leads_to_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("oaweb/favicon.svg")
