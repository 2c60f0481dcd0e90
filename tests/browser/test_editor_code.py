"""The code editor (issue 18): CodeMirror with completion from the registry, problems underlined, fast at 2 MB.

The editor's state is read through CodeMirror itself (window.CM, the
vendored bundle): EditorView.findFromDOM gives the view of the page's editor.
"""

import json
import statistics

import pytest

from tests.browser.conftest import screenshot, type_into_editor
from workflows.models import Workflow

VIEW = "CM.EditorView.findFromDOM(document.querySelector('.cm-editor'))"
REPLACE_ALL = "view.dispatch({changes: {from: 0, to: view.state.doc.length, insert: text}, userEvent: 'input.paste'})"


def definition(**changes) -> dict:
    """hello -> shout -> after: text.template declares its inputs (template, values) and its output (text)."""
    steps = [
        {
            "id": "hello",
            "component": "text.template",
            "inputs": {"template": "hello {name}", "values": {"name": "{{ inputs.name }}"}},
        },
        {"id": "shout", "component": "text.template", "inputs": {"template": "HELLO"}, "depends_on": ["hello"]},
        {"id": "after", "component": "core.noop", "inputs": {"value": "{{ steps.shout.outputs.text }}"}},
    ]
    document = {
        "id": "code-editor",
        "name": "Code editor",
        "version": "1.0.0",
        "inputs": {"name": {"type": "string", "default": "world"}},
        "steps": steps,
        "outputs": {"text": "{{ steps.after.outputs.value }}"},
    }
    for index, step in changes.items():
        steps[int(index.removeprefix("step"))] = step
    return document


def set_text(page, text: str):
    """Replace the editor's text as a paste does (Chromium's own paste of a large text takes a while here)."""
    page.evaluate(f"text => {{ const view = {VIEW}; {REPLACE_ALL}; }}", text)


def editor_text(page) -> str:
    return page.evaluate(f"() => {VIEW}.state.doc.toString()")


def put_caret(page, offset: int):
    page.evaluate(
        f"""offset => {{
          const view = {VIEW};
          view.dispatch({{ selection: {{ anchor: offset }}, scrollIntoView: true }});
          view.focus();
        }}""",
        offset,
    )


def offered(page) -> list[str]:
    """The completions shown, once CodeMirror has them all (not while a source is still asked)."""
    page.wait_for_function(f"() => CM.completionStatus({VIEW}.state) === 'active'")
    page.locator(".cm-tooltip-autocomplete").wait_for()
    return page.locator(".cm-tooltip-autocomplete li .cm-completionLabel").all_inner_texts()


def accept(page):
    page.wait_for_timeout(100)  # CodeMirror ignores Enter for 75 ms after the list opens (interactionDelay)
    page.keyboard.press("Enter")


def diagnostics(page) -> list[dict]:
    return page.evaluate(
        f"""() => {{
          const found = [];
          CM.forEachDiagnostic({VIEW}.state, (d, from, to) =>
            found.push({{ from, to, severity: d.severity, message: d.message }}));
          return found;
        }}"""
    )


def open_editor(page):
    page.goto("/workflows/new/")
    page.locator(".cm-editor").wait_for()
    page.locator("#issues .valid").wait_for()  # the skeleton's verdict


def test_completion_offers_components_inputs_step_ids_and_upstream_outputs(logged_in):
    page = logged_in
    open_editor(page)
    text = json.dumps(definition(step1={"id": "shout", "component": "text.template", "inputs": {}}), indent=2)
    set_text(page, text)

    # A step's inputs: its component's declared inputs, the required one first.
    put_caret(page, text.index("{}") + 1)
    page.keyboard.type('"')
    assert offered(page) == ["template", "values"]
    assert "string · required" in page.locator(".cm-tooltip-autocomplete li", has_text="template").inner_text()
    accept(page)
    assert '"inputs": {"template": }' in editor_text(page)  # the key, its colon, and the caret after them
    assert page.evaluate(f"() => {VIEW}.state.selection.main.head") == text.index("{}") + len('{"template": ')

    # References inside {{ }}: the workflow's inputs and the declared outputs of steps that can come first:
    # not the step itself, nor `after`, which depends on it (it reads shout's output).
    text = json.dumps(definition(), indent=2)
    set_text(page, text)
    put_caret(page, text.index('"HELLO"') + 1)
    page.keyboard.type("{{ ")
    assert sorted(offered(page)) == ["inputs.name", "steps.hello.outputs.text"]
    page.keyboard.type("hel")
    assert offered(page) == ["steps.hello.outputs.text"]
    accept(page)
    assert '"template": "{{ steps.hello.outputs.text }}HELLO"' in editor_text(page)

    # `after` may read every other step, not itself.
    text = editor_text(page)
    put_caret(page, text.index("{{ steps.shout") + 3)
    page.keyboard.press("Control+Space")
    assert sorted(offered(page)) == ["inputs.name", "steps.hello.outputs.text", "steps.shout.outputs.text"]
    page.keyboard.press("Escape")

    # Component names from the registry, with their kind.
    put_caret(page, text.index('"core.noop"') + 1)
    page.keyboard.press("Control+Space")
    names = offered(page)
    assert {"core.noop", "text.template", "json.pick", "test.raise"} <= set(names)
    assert "transform" in page.locator(".cm-tooltip-autocomplete li", has_text="text.template").inner_text()
    page.keyboard.type("text.t")
    assert offered(page) == ["text.template"]
    accept(page)  # the whole value is replaced, not only the part before the caret
    assert '"component": "text.template",\n      "inputs": {\n        "value": "{{ steps.shout' in editor_text(page)

    # Step ids in depends_on: those that can come before this step.
    put_caret(page, text.index('"hello"', text.index('"depends_on"')) + 1)
    page.keyboard.press("Control+Space")
    assert offered(page) == ["hello"]  # not shout itself, nor after (it depends on shout)
    screenshot(page, "editor-completion")


def test_a_problems_underline_sits_on_the_span_its_pointer_names(logged_in):
    page = logged_in
    open_editor(page)
    document = definition()
    document["steps"][2]["component"] = "core.nop"
    document["steps"][0]["inputs"]["bogus"] = True
    document["steps"].append({"id": "hello", "component": "core.noop"})
    text = json.dumps(document, indent=2)
    set_text(page, text)
    page.locator("#issues li", has_text="core.nop").wait_for()

    found = {(item["severity"], text[item["from"] : item["to"]]) for item in diagnostics(page)}
    second_id = text.index('"id": "hello"', text.index('"id": "hello"') + 1) + len('"id": ')
    assert ("error", '"core.nop"') in found  # /steps/2/component: the value, quotes and all
    assert ("warning", "true") in found  # /steps/0/inputs/bogus: text.template takes no such input
    duplicate = [item for item in diagnostics(page) if "already used" in item["message"]]
    assert [(item["from"], item["to"]) for item in duplicate] == [(second_id, second_id + 7)]  # the second "hello"
    assert page.locator(".cm-lintRange-error", has_text="core.nop").count() == 1  # drawn on the text

    typo_line = text[: text.index('"core.nop"')].count("\n") + 1
    assert str(typo_line) in page.locator(".cm-lineNumbers .bad").all_inner_texts()
    page.locator(".cm-lintRange-error", has_text="core.nop").hover()
    assert "no component `core.nop`" in page.locator(".cm-tooltip-lint").inner_text()
    screenshot(page, "editor-problems")

    # "line N" in the panel selects the span.
    page.locator("#issues li", has_text="core.nop").locator("button.goto").click()
    selected = page.evaluate(f"() => {{ const s = {VIEW}.state.selection.main; return [s.from, s.to]; }}")
    assert text[selected[0] : selected[1]] == '"core.nop"'

    # A syntax error has no tree to point into: it is marked at the column the server names.
    broken = text.replace('"version": "1.0.0",', '"version": "1.0.0"', 1)
    with pytest.raises(json.JSONDecodeError) as error:
        json.loads(broken)
    set_text(page, broken)
    page.locator("#issues li[data-column]").wait_for()
    assert [item["from"] for item in diagnostics(page)] == [error.value.pos]  # where `"inputs"` begins


def test_keys_tab_indents_esc_tab_moves_on_and_ctrl_s_saves(logged_in):
    page = logged_in
    open_editor(page)
    text = json.dumps(definition(), indent=2)
    set_text(page, text)
    put_caret(page, 1)
    page.keyboard.press("Tab")
    assert editor_text(page) == "{  " + text[1:]  # Tab indents, inside the editor
    assert page.evaluate("() => document.activeElement.classList.contains('cm-content')")
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert not page.evaluate("() => !!document.activeElement.closest('.cm-editor')")  # no keyboard trap

    # The editor takes the page's colours (app.css's variables): the dark theme repaints it.
    card = """() => {
      const probe = document.body.appendChild(document.createElement("div"));
      probe.style.background = "var(--card)";
      const colour = getComputedStyle(probe).backgroundColor;
      probe.remove();
      return colour;
    }"""
    colours = """() => [
      getComputedStyle(document.querySelector(".cm-editor")).backgroundColor,
      getComputedStyle(document.querySelector(".cm-gutters")).backgroundColor,
      getComputedStyle(document.querySelector(".tok-propertyName")).color,
    ]"""
    light = page.evaluate(colours)
    assert light[0] == page.evaluate(card)
    page.evaluate("() => document.documentElement.setAttribute('data-theme', 'dark')")
    dark = page.evaluate(colours)
    assert dark[0] == page.evaluate(card) and all(before != after for before, after in zip(light, dark, strict=True))
    screenshot(page, "editor-dark", full_page=False)

    put_caret(page, 1)
    page.keyboard.press("Delete")
    page.keyboard.press("Delete")
    page.keyboard.press("Control+s")
    page.wait_for_url("**/workflows/code-editor/")
    assert Workflow.objects.get(slug="code-editor").latest_version().definition == definition()


def sent_size(text: str) -> int:
    """What a form sends for the text: UTF-8, line breaks as CR LF."""
    return len(text.encode()) + text.count("\n")


def big_document(limit: int) -> str:
    """A valid definition of about 2 MB, a few KB under the editor's limit: checked by the server as it is typed in."""
    document = definition()
    step = {"id": "", "component": "core.noop", "inputs": {"value": "{{ steps.hello.outputs.text }}", "note": "é" * 40}}
    base = sent_size(json.dumps(document, indent=2))
    document["steps"].append({**step, "id": "s00000"})
    per_step = sent_size(json.dumps(document, indent=2)) - base
    document["steps"].pop()
    for number in range((limit - 4096 - base) // per_step):
        document["steps"].append({**step, "id": f"s{number:05}"})
    return json.dumps(document, indent=2)


def typing_latencies(page, keys: str) -> tuple[list[float], list[float]]:
    """Per key, in ms: (keydown to the text updated in CodeMirror, keydown to the first task after the next frame)."""
    page.evaluate(
        f"""() => {{
          window.handled = [];
          window.painted = [];
          if (window.keyStart !== undefined) return;
          window.keyStart = null;
          document.querySelector(".cm-content").addEventListener("keydown", () => {{
            const start = (window.keyStart = performance.now());
            requestAnimationFrame(() => setTimeout(() => window.painted.push(performance.now() - start), 0));
          }}, true);
          const listener = CM.EditorView.updateListener.of(update => {{
            if (update.docChanged && window.keyStart !== null) window.handled.push(performance.now() - window.keyStart);
            window.keyStart = null;
          }});
          {VIEW}.dispatch({{ effects: CM.StateEffect.appendConfig.of(listener) }});
        }}"""
    )
    for count, key in enumerate(keys, start=1):
        page.keyboard.type(key)
        page.wait_for_function("n => window.painted.length >= n", arg=count, polling="raf")
    return page.evaluate("() => [window.handled, window.painted]")


def summary(figures: list[float]) -> str:
    tenth = statistics.quantiles(figures, n=10)[-1]
    return f"median {statistics.median(figures):.1f}, 90th percentile {tenth:.1f}, max {max(figures):.1f}"


def test_typing_stays_responsive_in_a_2_mb_document(logged_in):
    """Typed at the middle and at the end of a document the size of the limit; the figures are printed."""
    page = logged_in
    open_editor(page)
    limit = int(page.locator("#source").get_attribute("data-max-bytes"))
    text = big_document(limit)
    sent = sent_size(text)
    assert 1.9 * 1024 * 1024 < sent <= limit
    set_text(page, text)
    page.locator("#issues .valid").wait_for(timeout=60_000)  # checked whole by the server

    put_caret(page, text.index('"note"', len(text) // 2) + len('"note": "'))
    handled, painted = typing_latencies(page, "abcdefghijklmnopqrst")
    started = page.evaluate("() => performance.now()")
    put_caret(page, text.rindex('"note"') + len('"note": "') + 20)  # the last step, 20,000 lines further
    page.wait_for_function("() => true", polling="raf")
    jump = page.evaluate("start => performance.now() - start", started)
    more_handled, more_painted = typing_latencies(page, "ABCDEFGHIJKLMNOPQRST")
    typed = editor_text(page)
    assert typed.count("abcdefghijklmnopqrst") == 1 and typed.count("ABCDEFGHIJKLMNOPQRST") == 1

    handled, painted = handled + more_handled, painted + more_painted
    lines = text.count("\n") + 1
    print(f"\ntyping in a {sent / (1024 * 1024):.2f} MB document ({lines:,} lines), {len(painted)} keys, ms:")
    print(f"  keydown to text updated: {summary(handled)}")
    print(f"  keydown to next frame:   {summary(painted)}")
    print(f"  caret moved 20,000 lines down in {jump:.0f} ms")
    assert len(handled) == len(painted)
    assert statistics.median(painted) < 200  # a sanity bound: the figures printed are the measure

    # Completion works at this size too.
    page.keyboard.type("{{")
    started = page.evaluate("() => performance.now()")
    page.keyboard.type(" ")
    offered(page)
    took = page.evaluate("start => performance.now() - start", started)
    steps = len(json.loads(text)["steps"])
    print(f"  references offered among {steps:,} steps {took:.0f} ms after the key")
    page.keyboard.type("steps.sho")
    assert offered(page) == ["steps.shout.outputs.text"]

    # Once typing pauses, the live check answers. A problem at the far end of a fresh 2 MB text: on its line at
    # once if the syntax tree doesn't reach it yet, then on its exact span once the tree (built in slices of idle
    # time) does.
    document = json.loads(text)
    document["steps"][-1]["component"] = "core.nop"
    typo = json.dumps(document, indent=2)
    start = typo.rindex('"core.nop"')
    page.evaluate(
        f"""() => {{
          window.spans = [];
          const spans = () => {{
            const found = [];
            CM.forEachDiagnostic({VIEW}.state, (d, from, to) => found.push([from, to]));
            return found;
          }};
          document.body.addEventListener("htmx:afterSwap", () => {{
            const listed = performance.now();
            window.spans.push(spans());  // editor.js, listening first, has underlined by now
            (function poll() {{
              const now = spans();
              if (now.length === 1 && now[0][0] === {start}) window.spans.push(now, performance.now() - listed);
              else requestAnimationFrame(poll);
            }})();
          }});
        }}"""
    )
    put_caret(page, 0)  # the view at the top: CodeMirror parses little further than what it shows
    set_text(page, typo)
    page.wait_for_function("() => window.spans.length === 3", timeout=60_000)
    first, exact, took = page.evaluate("() => window.spans")
    line_start = typo.rindex("\n", 0, start) + 1
    fallback = [line_start + len("      "), typo.index("\n", start)]  # the line's text, without its indentation
    assert exact == [[start, start + len('"core.nop"')]]
    assert first in ([fallback], exact)
    line = typo[:start].count("\n") + 1
    shown = "its line, then its span" if first == [fallback] else "its span at once"
    print(f"  a problem on line {line:,} of a fresh text: {shown}, exact {took:.0f} ms after it was listed")


def test_text_typed_before_the_page_finishes_loading_is_still_checked(logged_in):
    """The editor appears while deferred scripts run, before htmx binds its triggers on DOMContentLoaded.

    A script after editor.js that does not arrive until the test lets it holds
    DOMContentLoaded back: text typed in that gap must still be sent for
    checking, not lost to a listener that was not there yet.
    """
    page = logged_in
    page.add_init_script("document.addEventListener('DOMContentLoaded', () => { window.loaded = true; })")

    def with_a_late_script_last(route):
        html = route.fetch().text().replace("</body>", '<script src="/late.js" defer></script></body>')
        route.fulfill(body=html, content_type="text/html")

    held = []

    def hold(route):
        held.append(route)

    page.route("**/workflows/new/", with_a_late_script_last)
    page.route("**/late.js", hold)
    page.goto("/workflows/new/", wait_until="commit")
    type_into_editor(page, json.dumps(definition(step2={"id": "after", "component": "core.nop"})))
    page.wait_for_timeout(1_000)  # the editor's copy to the textarea, and htmx's 400 ms delay had it been listening
    typed_before_loaded = page.evaluate("!window.loaded")
    held[0].fulfill(body="", content_type="text/javascript")
    page.locator("#issues .issues li", has_text="core.nop").wait_for()
    assert typed_before_loaded
