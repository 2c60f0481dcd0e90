"""validate_workflow, import_workflow and export_workflow: output and exit codes.

Commands run through call_command; run_command turns a CommandError into the
exit code the shell would see (Django's run_from_argv does the same), and any
other exception fails the test: bad input must never end in a traceback.
"""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import make_user, noop_definition
from workflows.models import Workflow, WorkflowVersion

# One file with the four problems the issue names, each on its own steps.
BROKEN = {
    "id": "broken",
    "steps": [
        {"id": "a", "component": "core.noop", "depends_on": ["b"]},
        {"id": "b", "component": "core.noop", "depends_on": ["a"]},
        {"id": "c", "component": "core.noop"},
        {"id": "c", "component": "core.noop"},
        {"id": "d", "component": "core.nope"},
        {"id": "e", "component": "core.noop", "inputs": {"value": "{{ steps.missing.outputs.value }}"}},
    ],
}
FOUR_CODES = {"cycle", "duplicate_step_id", "unknown_component", "unknown_reference"}


def run_command(name: str, *args) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) as a shell would see them."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


def write(tmp_path: Path, content, name="workflow.json") -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    return str(path)


def resolve_pointer(document, pointer: str):
    """The value a JSON Pointer (RFC 6901) designates in `document`."""
    value = document
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        value = value[int(token)] if isinstance(value, list) else value[token]
    return value


def stored_state():
    """Everything import could change, to show a refused import changed nothing."""
    return sorted(WorkflowVersion.objects.values_list("workflow__slug", "version", "content_hash"))


# --- validate_workflow --------------------------------------------------------


def test_valid_file_exits_0(components, tmp_path):
    code, out, _ = run_command("validate_workflow", write(tmp_path, noop_definition()))
    assert code == 0
    assert "valid" in out


def test_invalid_file_exits_1_with_one_line_per_issue(components, tmp_path):
    code, out, err = run_command("validate_workflow", write(tmp_path, BROKEN))
    assert code == 1
    lines = out.strip().splitlines()
    assert len(lines) >= 4
    assert any(line.startswith("/steps/4") and "error unknown_component:" in line for line in lines)
    assert "invalid" in err


def test_suggestions_are_shown_in_parentheses(components, tmp_path):
    definition = {"id": "typo", "steps": [{"id": "a", "component": "text.templat", "inputs": {"template": "x"}}]}
    code, out, _ = run_command("validate_workflow", write(tmp_path, definition))
    assert code == 1
    line = next(line for line in out.splitlines() if "unknown_component" in line)
    assert line.endswith(")") and "text.template" in line


def test_json_lists_the_four_codes_with_json_pointer_paths(components, tmp_path):
    code, out, _ = run_command("validate_workflow", write(tmp_path, BROKEN), "--json")
    assert code == 1
    result = json.loads(out)
    assert result["valid"] is False
    by_code = {issue["code"]: issue for issue in result["issues"]}
    assert FOUR_CODES <= set(by_code)
    for code_name in FOUR_CODES:
        path = by_code[code_name]["path"]
        assert path.startswith("/steps/"), (code_name, path)
        resolve_pointer(BROKEN, path)  # raises if the pointer designates nothing
    for issue in result["issues"]:
        assert set(issue) >= {"code", "severity", "message", "path", "suggestion"}


def test_json_of_a_valid_file(components, tmp_path):
    code, out, _ = run_command("validate_workflow", write(tmp_path, noop_definition()), "--json")
    assert code == 0
    assert json.loads(out)["valid"] is True


def test_strict_fails_on_warnings(components, tmp_path):
    definition = noop_definition()
    definition["steps"].append(
        {"id": "t", "component": "text.template", "inputs": {"template": "hi", "colour": "blue"}}
    )
    path = write(tmp_path, definition)
    code, out, _ = run_command("validate_workflow", path)
    assert code == 0
    assert " warning " in out
    assert run_command("validate_workflow", path, "--strict")[0] == 1


def test_missing_file_exits_2(components, tmp_path):
    code, out, err = run_command("validate_workflow", str(tmp_path / "nope.json"))
    assert code == 2
    assert "no such file" in err


def test_directory_exits_2(components, tmp_path):
    code, _, err = run_command("validate_workflow", str(tmp_path))
    assert code == 2
    assert "directory" in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_exits_2(components, tmp_path):
    path = write(tmp_path, noop_definition())
    os.chmod(path, 0)
    code, _, err = run_command("validate_workflow", path)
    assert code == 2
    assert "permission denied" in err


def test_file_that_is_not_utf8_exits_2(components, tmp_path):
    path = write(tmp_path, '{"id": "caf\u00e9"}'.encode("latin-1"))
    code, _, err = run_command("validate_workflow", path)
    assert code == 2
    assert "not UTF-8" in err


def test_unreadable_file_exits_2_from_the_shell_without_traceback(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "OAWEB_VAR_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "manage.py", "validate_workflow", str(tmp_path / "nope.json")],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "no such file" in done.stderr
    assert "Traceback" not in done.stderr


# --- bad input: an issue and exit 1, never a traceback ---------------------------

BAD_INPUTS = {
    "malformed_json": '{"id": "x", "steps": [',
    "not_an_object": "[1, 2, 3]",
    "empty_file": "",
    "unknown_keys": json.dumps({**noop_definition(), "colour": "blue"}),
    "step_id_not_a_string": json.dumps({"id": "x", "steps": [{"id": 7, "component": "core.noop"}]}),
    "control_characters_in_name": json.dumps({**noop_definition(), "name": "bad\u0007name\nhere"}),
    "deep_nesting": (
        '{"id": "deep", "steps": [{"id": "a", "component": "core.noop", "inputs": {"x": '
        + "[" * 10_000
        + "]" * 10_000
        + "}}]}"
    ),
}


@pytest.mark.parametrize("content", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_an_issue_not_a_traceback(components, tmp_path, content):
    code, out, _ = run_command("validate_workflow", write(tmp_path, content), "--json")
    assert code == 1
    result = json.loads(out)
    assert result["valid"] is False
    assert result["issues"]


def test_50_mb_file_is_too_large(components, tmp_path):
    definition = {**noop_definition(), "description": "x" * (50 * 1024 * 1024)}
    code, out, _ = run_command("validate_workflow", write(tmp_path, definition), "--json")
    assert code == 1
    assert [issue["code"] for issue in json.loads(out)["issues"]] == ["too_large"]


def test_unicode_names_are_fine(components, tmp_path):
    definition = {**noop_definition(), "name": "Grüße, 世界 ✓", "description": "naïve café"}
    assert run_command("validate_workflow", write(tmp_path, definition))[0] == 0


@pytest.mark.parametrize("content", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_imports_nothing(components, make_workflow, tmp_path, content):
    make_workflow()
    before = stored_state()
    assert run_command("import_workflow", write(tmp_path, content))[0] == 1
    assert stored_state() == before


def test_50_mb_file_imports_nothing(components, make_workflow, tmp_path):
    make_workflow()
    before = stored_state()
    definition = {**noop_definition(), "description": "x" * (50 * 1024 * 1024)}
    assert run_command("import_workflow", write(tmp_path, definition))[0] == 1
    assert stored_state() == before


# --- import_workflow ------------------------------------------------------------


def test_import_creates_the_workflow_in_the_default_team(components, tmp_path):
    code, out, _ = run_command("import_workflow", write(tmp_path, noop_definition("hello")))
    assert code == 0
    assert out.strip() == "created hello@1.0.0"
    workflow = Workflow.objects.get(slug="hello")
    assert workflow.team.name == settings.OAWEB_DEFAULT_TEAM
    assert workflow.latest_version().definition == noop_definition("hello")


def test_importing_identical_content_twice_creates_nothing(components, tmp_path):
    path = write(tmp_path, noop_definition("hello"))
    run_command("import_workflow", path)
    code, out, _ = run_command("import_workflow", path)
    assert code == 0
    assert out.strip() == "unchanged hello@1.0.0"
    assert WorkflowVersion.objects.filter(workflow__slug="hello").count() == 1


def test_import_refuses_an_invalid_definition_and_stores_nothing(components, make_workflow, tmp_path):
    make_workflow(noop_definition("broken"))
    before = stored_state()
    code, out, err = run_command("import_workflow", write(tmp_path, BROKEN))
    assert code == 1
    assert "unknown_component" in err
    assert "nothing imported" in err
    assert stored_state() == before


def test_import_of_several_files_stores_nothing_if_one_is_invalid(components, tmp_path):
    good = write(tmp_path, noop_definition("good"), "good.json")
    bad = write(tmp_path, BROKEN, "bad.json")
    assert run_command("import_workflow", good, bad)[0] == 1
    assert not Workflow.objects.exists()


def test_import_of_several_files(components, tmp_path):
    first = write(tmp_path, noop_definition("first"), "first.json")
    second = write(tmp_path, noop_definition("second"), "second.json")
    code, out, _ = run_command("import_workflow", first, second)
    assert code == 0
    assert out.splitlines() == ["created first@1.0.0", "created second@1.0.0"]


def test_import_of_a_missing_file_exits_2(components, tmp_path):
    assert run_command("import_workflow", str(tmp_path / "nope.json"))[0] == 2


def test_import_into_a_named_team(components, team, tmp_path):
    assert run_command("import_workflow", write(tmp_path, noop_definition("hello")), "--team", team.name)[0] == 0
    assert Workflow.objects.get(slug="hello").team == team


def test_import_into_an_unknown_team_exits_1(components, tmp_path):
    code, _, err = run_command("import_workflow", write(tmp_path, noop_definition()), "--team", "nobody")
    assert code == 1
    assert "no team named 'nobody'" in err
    assert not Workflow.objects.exists()


def test_import_refuses_to_add_versions_to_another_teams_workflow(components, make_workflow, other_team, tmp_path):
    make_workflow(noop_definition("hello"))  # owned by `team`
    before = stored_state()
    changed = {**noop_definition("hello"), "description": "changed"}
    code, _, err = run_command("import_workflow", write(tmp_path, changed), "--team", other_team.name)
    assert code == 1
    assert "belongs to team 'alpha'" in err
    assert stored_state() == before


def test_import_without_team_adds_a_version_to_the_existing_workflow(components, make_workflow, team, tmp_path):
    make_workflow(noop_definition("hello"))
    changed = {**noop_definition("hello"), "description": "changed"}
    code, out, _ = run_command("import_workflow", write(tmp_path, changed))
    assert code == 0
    workflow = Workflow.objects.get(slug="hello")
    assert workflow.team == team
    assert workflow.versions.count() == 2


def test_import_records_the_author(components, tmp_path):
    author = make_user("ada")
    run_command("import_workflow", write(tmp_path, noop_definition("hello")), "--author", "ada")
    assert WorkflowVersion.objects.get(workflow__slug="hello").author == author


def test_import_with_an_unknown_author_exits_1(components, tmp_path):
    code, _, err = run_command("import_workflow", write(tmp_path, noop_definition()), "--author", "ghost")
    assert code == 1
    assert "no user named 'ghost'" in err
    assert not Workflow.objects.exists()


# --- export_workflow --------------------------------------------------------------


def test_export_prints_the_latest_definition(components, make_workflow):
    workflow = make_workflow(noop_definition("hello"))
    code, out, _ = run_command("export_workflow", "hello")
    assert code == 0
    assert json.loads(out) == workflow.latest_version().definition
    assert out.startswith('{\n  "id": "hello"')


def test_export_a_given_version(components, make_workflow):
    make_workflow(noop_definition("hello"))
    make_workflow({**noop_definition("hello"), "version": "2.0.0", "description": "second"})
    assert json.loads(run_command("export_workflow", "hello")[1])["version"] == "2.0.0"
    older = json.loads(run_command("export_workflow", "hello", "--version", "1.0.0")[1])
    assert older == noop_definition("hello")


def test_export_of_an_unknown_workflow_exits_1(components):
    code, _, err = run_command("export_workflow", "nothing")
    assert code == 1
    assert "no workflow with id 'nothing'" in err


def test_export_of_an_unknown_version_exits_1(components, make_workflow):
    make_workflow(noop_definition("hello"))
    code, _, err = run_command("export_workflow", "hello", "--version", "9.9.9")
    assert code == 1
    assert "1.0.0" in err  # names the versions there are


def test_exported_definition_imports_as_unchanged(components, make_workflow, tmp_path):
    make_workflow(noop_definition("hello"))
    exported = run_command("export_workflow", "hello")[1]
    code, out, _ = run_command("import_workflow", write(tmp_path, exported))
    assert code == 0
    assert out.strip() == "unchanged hello@1.0.0"
