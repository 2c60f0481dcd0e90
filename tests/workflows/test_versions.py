"""Versions: a new one only when content changes; a taken label is bumped."""

import io
import json

from django.core.management import call_command

from tests.conftest import noop_definition
from workflows.models import Team, Workflow


def import_file(tmp_path, definition) -> str:
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps(definition), encoding="utf-8")
    out = io.StringIO()
    call_command("import_workflow", str(path), stdout=out)
    return out.getvalue().strip()


def labels(slug="hello") -> list[str]:
    return list(Workflow.objects.get(slug=slug).versions.order_by("created", "id").values_list("version", flat=True))


def test_importing_twice_creates_one_version(components, tmp_path):
    assert import_file(tmp_path, noop_definition("hello")) == "created hello@1.0.0"
    assert import_file(tmp_path, noop_definition("hello")) == "unchanged hello@1.0.0"
    assert labels() == ["1.0.0"]


def test_new_content_under_a_taken_label_gets_the_next_patch(components, tmp_path):
    import_file(tmp_path, noop_definition("hello"))
    changed = {**noop_definition("hello"), "description": "now with a description"}
    assert import_file(tmp_path, changed) == "created hello@1.0.1 (version 1.0.0 already holds other content)"
    assert labels() == ["1.0.0", "1.0.1"]
    latest = Workflow.objects.get(slug="hello").latest_version()
    assert latest.definition["version"] == "1.0.1"
    assert latest.definition["description"] == "now with a description"


def test_bumping_skips_labels_already_taken(components, tmp_path):
    import_file(tmp_path, noop_definition("hello"))
    import_file(tmp_path, {**noop_definition("hello"), "version": "1.0.1", "description": "b"})
    assert import_file(tmp_path, {**noop_definition("hello"), "description": "c"}).startswith("created hello@1.0.2")
    assert labels() == ["1.0.0", "1.0.1", "1.0.2"]


def test_new_content_under_a_new_label_keeps_the_label(components, tmp_path):
    import_file(tmp_path, noop_definition("hello"))
    assert import_file(tmp_path, {**noop_definition("hello"), "version": "2.0.0", "description": "x"}) == (
        "created hello@2.0.0"
    )
    assert labels() == ["1.0.0", "2.0.0"]


def test_a_new_label_alone_is_not_a_change(components, tmp_path):
    import_file(tmp_path, noop_definition("hello"))
    assert import_file(tmp_path, {**noop_definition("hello"), "version": "3.0.0"}) == "unchanged hello@1.0.0"
    assert labels() == ["1.0.0"]


def test_returning_to_earlier_content_reuses_its_version(components, tmp_path):
    import_file(tmp_path, noop_definition("hello"))
    import_file(tmp_path, {**noop_definition("hello"), "description": "b"})
    assert import_file(tmp_path, noop_definition("hello")) == "unchanged hello@1.0.0"
    assert labels() == ["1.0.0", "1.0.1"]


def test_a_definition_without_a_version_starts_at_0_1_0(components, tmp_path):
    definition = noop_definition("hello")
    del definition["version"]
    assert import_file(tmp_path, definition) == "created hello@0.1.0"


def test_workflow_fields_follow_the_latest_version(db):
    version, _ = Workflow.import_definition(noop_definition("hello"), team=Team.default())
    version.workflow.add_version({**noop_definition("hello"), "name": "Renamed", "tags": ["new"]})
    workflow = Workflow.objects.get(slug="hello")
    assert (workflow.name, workflow.tags) == ("Renamed", ["new"])
    assert workflow.latest_version().version == "1.0.1"
