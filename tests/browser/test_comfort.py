"""Issue 18, comfort, in Chromium: dark mode (the system's choice and the toggle, kept), shortcuts, breadcrumbs."""

from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD, noop_definition
from workflows.execution.models import Run
from workflows.models import Workflow

# The body's computed background as its relative luminance (0 black .. 1 white).
LUMINANCE = """
() => {
  const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number);
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}
"""


def log_in(page, user):
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()


def test_dark_mode_follows_the_system_and_the_toggle_is_kept(oaweb_server, chromium, user):
    dark = chromium.new_context(base_url=oaweb_server.url, color_scheme="dark")
    page = dark.new_page()
    log_in(page, user)
    assert page.evaluate(LUMINANCE) < 0.2
    # Nothing chosen: the system's theme, set on the page, and nothing saved.
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("localStorage.getItem('oaweb-theme')") is None
    assert page.get_by_role("button", name="Theme: follows the system; click to choose").is_visible()
    dark.close()

    light = chromium.new_context(base_url=oaweb_server.url, color_scheme="light")
    page = light.new_page()
    log_in(page, user)
    assert page.evaluate(LUMINANCE) > 0.8
    toggle = page.locator("[data-theme-toggle]")
    toggle.click()  # Auto (light here) -> dark
    assert page.evaluate("document.documentElement.dataset.theme") == "dark" and page.evaluate(LUMINANCE) < 0.2
    assert page.evaluate("localStorage.getItem('oaweb-theme')") == "dark"
    page.goto("/workflows/")  # kept across pages, applied before the first paint by the inline script
    assert page.evaluate("document.documentElement.dataset.theme") == "dark" and page.evaluate(LUMINANCE) < 0.2
    assert toggle.inner_text() == "☾ Dark"
    page.reload()
    assert page.evaluate(LUMINANCE) < 0.2
    toggle.click()  # dark -> light, chosen
    assert page.evaluate("localStorage.getItem('oaweb-theme')") == "light" and page.evaluate(LUMINANCE) > 0.8
    page.emulate_media(color_scheme="dark")
    assert page.evaluate(LUMINANCE) > 0.8  # a choice outranks the system's
    toggle.click()  # light -> the system's (now dark), chosen
    assert page.evaluate("localStorage.getItem('oaweb-theme')") == "dark" and page.evaluate(LUMINANCE) < 0.2
    toggle.click()  # -> Auto: nothing kept, the system's dark
    assert page.evaluate("localStorage.getItem('oaweb-theme')") is None and page.evaluate(LUMINANCE) < 0.2
    assert toggle.inner_text() == "◐ Auto"
    light.close()


def test_keyboard_shortcuts(logged_in, team):
    definition = noop_definition("keys")
    Workflow.import_definition(definition, team=team)
    page = logged_in
    dialog = page.locator("dialog#shortcuts")

    page.keyboard.press("?")
    dialog.wait_for(state="visible")
    listed = dialog.inner_text()
    for text in ("Search", "Go to the dashboard", "Go to the workflows", "Go to the runs", "Run", "Save"):
        assert text in listed, text
    screenshot(page, "shortcuts-dialog", full_page=False)
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "global-search"
    page.keyboard.type("g?")  # typed into the search: no shortcut
    assert page.locator("#global-search").input_value() == "g?" and not dialog.is_visible()
    page.keyboard.press("Escape")

    page.keyboard.press("g")
    page.keyboard.press("w")
    page.wait_for_url("**/workflows/")
    page.keyboard.press("/")  # the list's own search
    assert page.evaluate("document.activeElement.name") == "q" and page.evaluate(
        "document.activeElement.closest('main') !== null"
    )
    page.locator("main input[type=search]").blur()
    page.keyboard.press("g")
    page.keyboard.press("r")
    page.wait_for_url("**/runs/")
    page.keyboard.press("g")
    page.keyboard.press("d")
    page.get_by_role("heading", name="Dashboard").wait_for()

    page.goto("/workflows/keys/")
    page.keyboard.press("r")  # the Run form's button: the run starts with the defaults
    page.wait_for_url("**/runs/*/")
    assert Run.objects.filter(workflow__slug="keys").count() == 1
    crumbs = page.locator("nav.crumbs li").all_inner_texts()
    assert crumbs == ["Workflows", "Keys", f"Run #{Run.objects.get().pk}"]
    page.locator("nav.crumbs").get_by_role("link", name="Keys").click()
    page.wait_for_url("**/workflows/keys/")
