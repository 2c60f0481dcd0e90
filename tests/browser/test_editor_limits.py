"""A document too large to send: the editor says so, keeps the text, and neither freezes nor shows a debug page.

Issue 18: past the request limit the live check answered 400 and the
Problems panel kept saying "✓ Valid"; Save showed Django's debug page
(RequestDataTooBig) and the pasted text was lost; a 6 MB document froze the
page. This module's server reads at most 64 KB of a request (and runs with
DEBUG on, as where the debug page was seen), so the documents stay small.

Texts are pasted through the clipboard, as people do: Playwright's fill()
types a text of a few thousand lines for minutes in this Chromium. The
editor is CodeMirror (static/oaweb/editor.js) over the form's textarea
#source, which holds what is checked and saved.
"""

import json

import pytest
from django.conf import settings

from tests.conftest import noop_definition
from workflows.models import Workflow

LIMIT = 64 * 1024  # OAWEB_API_MAX_BODY_BYTES of this module's server: the editor's limit too
VIEW = "CM.EditorView.findFromDOM(document.querySelector('.cm-editor'))"
LINE_NUMBERS = ".cm-lineNumbers .cm-gutterElement"


@pytest.fixture(scope="module")
def oaweb_server_process(django_db_setup, django_db_blocker):
    """This module's own daphne (see tests/browser/conftest.py): no steps run here, so no worker."""
    from tests.server import LiveServer

    if settings.EMBEDDED:
        from workflows.execution.embedded import stop_embedded_worker

        stop_embedded_worker()
    with django_db_blocker.unblock():
        server = LiveServer(extra_env={"OAWEB_API_MAX_BODY_BYTES": str(LIMIT), "DEBUG": "true"})
        yield server
        server.stop()


@pytest.fixture
def editor_page(logged_in, oaweb_server):
    page = logged_in
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=oaweb_server.url)
    page.goto("/workflows/new/")
    page.locator("#issues .valid").wait_for()  # the skeleton's verdict
    return page


def document(slug: str, steps: int) -> str:
    """A valid definition, pretty-printed: many line breaks, quotes and braces (a URL-encoded form triples them)."""
    definition = noop_definition(slug, steps=steps)
    definition["description"] = "Grüße, naïve café: " + "é" * 100
    return json.dumps(definition, indent=2)


def sent_size(text: str) -> int:
    """What a form sends for the text: UTF-8, line breaks as CR LF."""
    return len(text.encode()) + text.count("\n")


def paste(page, text: str):
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    editor = page.locator(".cm-content")
    editor.focus()
    editor.press("Control+A")
    editor.press("Control+V")


def editor_text(page) -> str:
    return page.evaluate(f"() => {VIEW}.state.doc.toString()")


def checks_sent(page) -> list:
    sent = []
    page.on("request", lambda request: "/workflows/validate/" in request.url and sent.append(request))
    return sent


def test_a_document_over_the_limit_is_named_in_the_panel_and_kept_when_saving(editor_page):
    page = editor_page
    text = document("too-big", steps=1000)
    assert sent_size(text) > 2 * LIMIT
    sent = checks_sent(page)

    paste(page, text)
    panel = page.locator("#issues")
    message = panel.locator(".issues li", has_text="The document is")
    message.wait_for()
    assert f"The document is {sent_size(text) / 1024:.1f} KB; the limit is 64.0 KB" in message.inner_text()
    assert "raise OAWEB_API_MAX_BODY_BYTES" in message.inner_text()
    assert panel.locator(".valid").count() == 0  # not "✓ Valid" any more
    page.wait_for_timeout(700)  # past the check's 400 ms pause
    assert sent == []  # nothing sent that the server can't read

    page.get_by_role("button", name="Save").click()
    page.wait_for_timeout(500)
    assert "RequestDataTooBig" not in page.content()
    assert page.url.endswith("/workflows/new/")
    assert editor_text(page) == text  # the text is still there
    assert page.locator("#source").input_value() == text  # and in the form's field
    assert "The document is" in panel.inner_text()
    assert not Workflow.objects.filter(slug="too-big").exists()

    # Cut down under the limit: checked again, and saved.
    with page.expect_response("**/workflows/validate/") as answer:
        paste(page, document("too-big", steps=100))
    assert answer.value.status == 200
    panel.locator(".valid").wait_for()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/workflows/too-big/")


def test_a_document_just_under_the_limit_is_checked_and_saved(editor_page):
    """The limit shown is the one applied: a document under it is sent whole, line breaks and all."""
    page = editor_page
    text = document("nearly-too-big", steps=400)
    assert LIMIT - 8 * 1024 < sent_size(text) < LIMIT
    sent = checks_sent(page)

    with page.expect_response("**/workflows/validate/") as answer:
        paste(page, text)
    assert answer.value.status == 200
    page.locator("#issues .valid").wait_for()
    for key in "   ":  # typing (spaces after the text: still the same definition): one check once it pauses
        page.locator(".cm-content").press(key)
    page.wait_for_timeout(1000)
    assert len(sent) == 2

    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/workflows/nearly-too-big/")
    definition = Workflow.objects.get(slug="nearly-too-big").latest_version().definition
    assert definition["description"] == json.loads(text)["description"]


def test_the_server_answers_a_body_too_large_with_the_editor_and_a_message(editor_page):
    """Sent anyway (no script, a stale page): the server's answer is the editor with the message, not a debug page."""
    page = editor_page
    paste(page, document("too-big", steps=1000))
    page.locator("#issues .issues li", has_text="The document is").wait_for()

    with page.expect_response("**/workflows/new/") as answer:
        page.locator("#source").evaluate("area => area.form.submit()")  # no submit event: no guard
    assert answer.value.status == 413
    page.get_by_role("heading", name="New workflow").wait_for()
    assert "RequestDataTooBig" not in page.content()
    message = page.locator("#issues .issues li", has_text="The document is too large")
    assert "the limit is 64.0 KB" in message.inner_text()
    assert "Back button" in message.inner_text()
    page.wait_for_timeout(700)  # no check of the empty editor replaces the message
    assert message.is_visible()


def test_a_problem_far_down_a_long_document_is_numbered_and_reached(editor_page):
    """The gutter numbers only the lines near the visible ones, and follows the caret to a problem's line."""
    page = editor_page
    definition = noop_definition("long", steps=400)
    definition["steps"][-2]["component"] = "core.nop"  # a typo near the end
    text = json.dumps(definition, indent=2)
    line = text.splitlines().index('      "component": "core.nop",') + 1
    assert line > 2500
    paste(page, text)
    button = page.locator("#issues button.goto", has_text=f"line {line}")
    button.wait_for()
    assert page.locator(LINE_NUMBERS).count() < 1000

    button.click()
    bad = page.locator(".cm-lineNumbers .bad")
    assert bad.inner_text() == str(line)
    box = page.locator(".editor").bounding_box()
    mark = bad.bounding_box()
    assert box["y"] <= mark["y"] and mark["y"] + mark["height"] <= box["y"] + box["height"]  # in view
    caret = page.evaluate(f"() => {VIEW}.state.selection.main.head")
    assert text[:caret].count("\n") + 1 == line  # the caret is on that line


def test_a_huge_document_is_not_sent_nor_numbered_line_by_line(editor_page):
    """A megabyte pasted, then typed in: no check is sent, and the gutter stays a few hundred numbers long.

    The text is set as a paste leaves it (Chromium's own paste of 50,000 lines takes a while here).
    """
    page = editor_page
    sent = checks_sent(page)
    huge = document("huge", steps=7_500)
    lines = huge.count("\n") + 1
    assert len(huge) > 1_000_000
    page.evaluate(
        f"""text => {{
          const view = {VIEW};
          view.dispatch({{ changes: {{ from: 0, to: view.state.doc.length, insert: text }}, userEvent: "input.paste" }});
        }}""",  # noqa: E501 (one statement of JavaScript)
        huge,
    )
    page.locator("#issues .issues li", has_text="The document is 1.").wait_for()
    assert page.locator(LINE_NUMBERS).count() < 1000
    # The gutter is as wide as the last number: its hidden spacer has as many digits.
    spacer = page.evaluate(
        """() => [...document.querySelectorAll(".cm-lineNumbers .cm-gutterElement")]
              .find(element => element.style.visibility === "hidden").textContent"""
    )
    assert len(spacer) == len(str(lines))

    editor = page.locator(".cm-content")
    editor.press("Control+End")
    for key in ("Enter", "x", "Backspace", "Backspace"):
        editor.press(key)
    page.locator(LINE_NUMBERS, has_text=str(lines)).last.wait_for()  # the numbers follow the caret
    page.wait_for_timeout(700)
    assert sent == []
    assert page.locator(LINE_NUMBERS).count() < 1000
    assert editor_text(page) == huge
