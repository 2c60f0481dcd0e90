"""The shipped examples: all valid, loaded by load_examples, covering what they promise."""

import io
import json
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command

from workflows.definitions.validation import validate_source
from workflows.models import Workflow, WorkflowVersion

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.json"))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def all_steps() -> list[dict]:
    return [step for path in EXAMPLES for step in load(path)["steps"]]


def load_examples() -> list[str]:
    out = io.StringIO()
    call_command("load_examples", stdout=out)
    return out.getvalue().splitlines()


def test_there_are_examples_of_each_kind_of_step():
    tags = {tag for path in EXAMPLES for tag in load(path).get("tags", [])}
    assert len(EXAMPLES) >= 4
    assert {"when", "approval", "event", "wait", "sub-workflow"} <= tags


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_is_valid_even_in_strict_mode(components, path):
    result = validate_source(path.read_bytes(), mode="strict")
    assert result["valid"], result["issues"]
    assert result["issues"] == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_passes_validate_workflow(components, path):
    out = io.StringIO()
    call_command("validate_workflow", str(path), "--strict", stdout=out)  # raises unless exit 0
    assert out.getvalue().strip().endswith("valid")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_says_what_it_shows(path):
    definition = load(path)
    assert len(definition.get("description", "")) > 40
    assert definition.get("name")


def test_example_ids_are_unique():
    ids = [load(path)["id"] for path in EXAMPLES]
    assert len(set(ids)) == len(ids)


def test_examples_use_every_kind_the_issue_asks_for():
    used = {step.get("component") for step in all_steps()}
    assert {"core.noop", "core.fail", "text.template", "json.pick", "http.request"} <= used
    assert any("when" in step for step in all_steps())


def test_an_example_fans_in_three_branches():
    for path in EXAMPLES:
        steps = load(path)["steps"]
        parents = Counter()
        for step in steps:
            text = json.dumps(step.get("inputs", {}))
            parents[step["id"]] = sum(f"steps.{other['id']}.outputs" in text for other in steps)
        if max(parents.values()) >= 3:
            return
    pytest.fail("no example has a step joining three or more branches")


def test_the_retry_example_fails_twice_and_allows_three_attempts():
    path = next(path for path in EXAMPLES if any(step.get("component") == "core.fail" for step in load(path)["steps"]))
    definition = load(path)
    flaky = next(step for step in definition["steps"] if step.get("component") == "core.fail")
    assert flaky["inputs"]["times"] == "{{ inputs.failures }}"
    assert definition["inputs"]["failures"]["default"] == 2
    assert flaky["retry"]["max_attempts"] == 3
    assert flaky["retry"]["backoff"] == "fixed"


def test_load_examples_imports_every_example(components):
    lines = load_examples()
    assert len(lines) == len(EXAMPLES)
    assert all(line.startswith("created ") for line in lines)
    assert set(Workflow.objects.values_list("slug", flat=True)) == {load(path)["id"] for path in EXAMPLES}


def test_load_examples_twice_creates_nothing_new(components):
    load_examples()
    versions = WorkflowVersion.objects.count()
    lines = load_examples()
    assert all(line.startswith("unchanged ") for line in lines)
    assert WorkflowVersion.objects.count() == versions
