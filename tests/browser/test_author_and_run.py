"""A person writes a workflow in the editor, sees a problem while typing, fixes it, saves and runs it."""

import json

from tests.browser.conftest import screenshot, step_queue, type_into_editor
from workflows.execution.models import Run
from workflows.models import Workflow

# The live path differs by mode (Redis channel layer and real workers, or one process).
BOTH_MODES = True


def definition_text(component: str) -> str:
    queue = step_queue()
    definition = {
        "id": "greet",
        "name": "Greet",
        "version": "1.0.0",
        "inputs": {"name": {"type": "string", "default": "world"}},
        "steps": [
            {
                "id": "hello",
                "component": "text.template",
                "inputs": {"template": "hello {name}", "values": {"name": "{{ inputs.name }}"}},
                **queue,
            },
            {"id": "echo", "component": component, "inputs": {"value": "{{ steps.hello.outputs.text }}"}, **queue},
        ],
        "outputs": {"text": "{{ steps.echo.outputs.value }}"},
    }
    return json.dumps(definition, indent=2)


def test_write_validate_fix_save_and_run(logged_in):
    page = logged_in
    page.get_by_role("link", name="New workflow").first.click()
    type_into_editor(page, definition_text("core.nop"))  # a typo
    issue = page.locator("#issues .issues li", has_text="core.nop")
    issue.wait_for()
    assert "core.noop" in issue.inner_text()  # did you mean
    typo_line = definition_text("core.nop").splitlines().index('      "component": "core.nop",') + 1
    assert page.locator(".cm-lineNumbers .bad").inner_text() == str(typo_line)  # the offending line is marked
    screenshot(page, "editor")

    type_into_editor(page, definition_text("core.noop"))
    page.locator("#issues .valid").wait_for()
    assert page.locator(".cm-lineNumbers .bad").count() == 0
    page.get_by_role("button", name="Save").click()

    page.wait_for_url("**/workflows/greet/")
    assert Workflow.objects.get(slug="greet").versions.count() == 1
    page.locator("#run-form").get_by_label("name", exact=True).fill("Ada")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url("**/runs/*/")
    page.locator("#run-head .badge", has_text="succeeded").wait_for(timeout=30_000)
    run = Run.objects.get(workflow__slug="greet")
    assert run.outputs == {"text": "hello Ada"}

    page.goto("/")
    page.locator("#dash-recent", has_text="Greet").wait_for()
    screenshot(page, "dashboard")
