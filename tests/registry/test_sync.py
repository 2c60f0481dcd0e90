"""Writing the code's catalog to the database: Component.sync and sync_components."""

import dataclasses
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from registry.catalog import CATALOG, DISCOVERY_ERRORS
from registry.models import Component


def sync_command(*args) -> str:
    out = io.StringIO()
    call_command("sync_components", *args, stdout=out)
    return out.getvalue()


def test_first_sync_creates_every_catalogued_component(db):
    report = Component.sync(CATALOG.values())
    assert sorted(report["created"]) == sorted(CATALOG)
    assert set(Component.objects.values_list("name", flat=True)) == set(CATALOG)


def test_second_sync_changes_nothing(db):
    Component.sync(CATALOG.values())
    updated = {row.name: row.updated for row in Component.objects.all()}
    report = Component.sync(CATALOG.values())
    assert report == {"created": [], "updated": [], "unchanged": sorted(CATALOG)}
    assert {row.name: row.updated for row in Component.objects.all()} == updated


def test_a_changed_declaration_is_updated(db):
    Component.sync(CATALOG.values())
    changed = dataclasses.replace(CATALOG["core.noop"], version="9.0.0")
    report = Component.sync([changed])
    assert report["updated"] == ["core.noop"]
    assert Component.objects.get(name="core.noop").version == "9.0.0"


def test_sync_keeps_the_operators_enabled_choice(db):
    Component.sync(CATALOG.values())
    Component.objects.filter(name="core.noop").update(enabled=False)
    Component.sync(CATALOG.values())
    assert Component.objects.get(name="core.noop").enabled is False


def test_command_prints_counts(db):
    first = sync_command()
    assert first.startswith(f"{len(CATALOG)} created, 0 updated, 0 unchanged")
    assert sync_command().startswith(f"0 created, 0 updated, {len(CATALOG)} unchanged")


def test_command_reports_components_missing_from_code_but_keeps_them_enabled(db):
    Component.objects.create(name="gone.component", version="1.0.0", entrypoint="gone:thing")
    output = sync_command()
    assert "gone.component" in output
    assert Component.objects.get(name="gone.component").enabled is True


def test_disable_missing_disables_components_no_longer_in_code(db):
    Component.objects.create(name="gone.component", version="1.0.0", entrypoint="gone:thing")
    output = sync_command("--disable-missing")
    assert "1 disabled" in output
    assert Component.objects.get(name="gone.component").enabled is False
    assert not Component.objects.filter(name__in=CATALOG, enabled=False).exists()


def test_command_refuses_to_sync_when_a_component_module_failed(db, monkeypatch):
    monkeypatch.setitem(DISCOVERY_ERRORS, "broken.module", "ImportError: no module named broken")
    with pytest.raises(CommandError, match="broken.module") as raised:
        sync_command("--disable-missing")
    assert raised.value.returncode == 1
    assert not Component.objects.exists()
