"""The Problems fragment tells the editor what to underline: each issue's JSON Pointer, line and (syntax) column."""

import json
import re

from django.urls import reverse

from tests.conftest import noop_definition
from workflows.web.editor import check_source


def issues_html(client, text) -> str:
    response = client.post(reverse("workflow-validate"), {"source": text})
    assert response.status_code == 200
    return response.content.decode()


def items(html) -> list[str]:
    return re.findall(r"<li [^>]*>", html)


def test_each_issue_carries_its_pointer_line_and_code(owner_client, components):
    definition = noop_definition(steps=3)
    definition["steps"][2]["component"] = "core.nop"
    text = json.dumps(definition, indent=2)
    line = 1 + next(number for number, content in enumerate(text.splitlines()) if "core.nop" in content)
    html = issues_html(owner_client, text)
    item = f'<li class="error" data-code="unknown_component" data-path="/steps/2/component" data-line="{line}">'
    assert item in items(html)
    assert "data-column" not in html  # a column only for syntax errors: the rest have a pointer
    assert "comment" not in html and "tell static/oaweb/editor.js" not in html  # the template's note stays unseen


def test_a_syntax_error_carries_its_column(owner_client):
    text = '{\n  "id": "x",\n  "name": oops\n}'
    html = issues_html(owner_client, text)
    assert items(html) == ['<li class="error" data-code="invalid_json" data-path="" data-line="3" data-column="11">']
    _, result = check_source(text)
    assert (result["issues"][0]["line"], result["issues"][0]["column"]) == (3, 11)


def test_issues_with_a_pointer_get_no_column(components):
    definition = noop_definition()
    definition["steps"][1]["component"] = "core.nop"
    _, result = check_source(json.dumps(definition, indent=2))
    assert [(issue["path"], issue["column"]) for issue in result["issues"]] == [("/steps/1/component", None)]
