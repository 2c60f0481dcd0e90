"""The registry's lookup cache: invalidated on commit of any Component change."""

import pytest
from django.core.cache import cache
from django.db import transaction

from registry import generation, lookup
from registry.models import Component
from tests.registry import register_elsewhere


@pytest.fixture(autouse=True)
def fresh_generation():
    # Other tests' rolled-back rows may sit in the current generation's snapshot.
    lookup.invalidate()


def make_component(name="demo.thing", **fields) -> Component:
    return Component.objects.create(name=name, version="1.0.0", entrypoint="demo:thing", **fields)


@pytest.fixture
def committed(db, django_capture_on_commit_callbacks):
    """A component already in the cache, its creation committed."""
    with django_capture_on_commit_callbacks(execute=True):
        component = make_component()
    assert lookup.get("demo.thing").version == "1.0.0"
    return component


def test_lookup_sees_a_new_component_once_committed(db, django_capture_on_commit_callbacks):
    assert lookup.get("demo.thing") is None
    with django_capture_on_commit_callbacks(execute=True):
        make_component()
    assert lookup.get("demo.thing") is not None


def test_lookup_sees_a_changed_version_after_save(committed, django_capture_on_commit_callbacks):
    committed.version = "2.0.0"
    with django_capture_on_commit_callbacks(execute=True):
        committed.save()
    assert lookup.get("demo.thing").version == "2.0.0"


def test_lookup_sees_a_component_disabled_and_enabled_again(committed, django_capture_on_commit_callbacks):
    committed.enabled = False
    with django_capture_on_commit_callbacks(execute=True):
        committed.save()
    assert lookup.get("demo.thing").enabled is False
    committed.enabled = True
    with django_capture_on_commit_callbacks(execute=True):
        committed.save()
    assert lookup.get("demo.thing").enabled is True


def test_lookup_forgets_a_deleted_component(committed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        committed.delete()
    assert lookup.get("demo.thing") is None


def test_lookup_keeps_the_committed_answer_until_the_change_commits(committed, django_capture_on_commit_callbacks):
    committed.version = "2.0.0"
    with django_capture_on_commit_callbacks(execute=True):
        committed.save()
        # Not committed yet: other processes cannot see the row change either.
        assert lookup.get("demo.thing").version == "1.0.0"
    assert lookup.get("demo.thing").version == "2.0.0"


def test_repeated_lookups_do_not_query_the_database(committed, django_assert_num_queries):
    with django_assert_num_queries(0):
        lookup.get("demo.thing")
        lookup.components()


def test_sync_makes_the_catalog_visible_to_lookups(db, django_capture_on_commit_callbacks):
    from registry.catalog import CATALOG

    assert lookup.get("core.noop") is None
    with django_capture_on_commit_callbacks(execute=True):
        Component.sync(CATALOG.values())
    assert lookup.get("core.noop").entrypoint == CATALOG["core.noop"].entrypoint


@pytest.mark.django_db(transaction=True)
def test_lookup_sees_an_autocommitted_save_at_once():
    make_component()
    assert lookup.get("demo.thing").version == "1.0.0"
    Component.objects.filter(name="demo.thing").get().delete()
    assert lookup.get("demo.thing") is None


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_keeps_the_cache_generation():
    make_component()
    assert lookup.get("demo.thing").version == "1.0.0"
    generation = lookup.generation()
    component = Component.objects.get(name="demo.thing")
    with pytest.raises(RuntimeError), transaction.atomic():
        component.version = "2.0.0"
        component.save()
        raise RuntimeError("abort")
    assert lookup.generation() == generation
    assert lookup.get("demo.thing").version == "1.0.0"


@pytest.fixture
def slow_generation_checks(monkeypatch):
    """This process re-reads the shared generation only after an hour: its snapshot goes stale."""
    monkeypatch.setattr(generation, "GENERATION_CHECK_SECONDS", 3600)


def register_demo_elsewhere(**fields) -> None:
    register_elsewhere(Component(name="demo.thing", version="1.0.0", entrypoint="demo:thing", **fields))


@pytest.mark.django_db(transaction=True)
def test_a_component_registered_elsewhere_a_moment_ago_is_found_before_a_step_is_refused(slow_generation_checks):
    assert lookup.get("demo.thing") is None
    register_demo_elsewhere()
    assert "demo.thing" not in lookup.components()  # the stale snapshot stands for other questions
    assert lookup.get("demo.thing").version == "1.0.0"
    assert lookup.usable("demo.thing")


@pytest.mark.django_db(transaction=True)
def test_a_component_enabled_elsewhere_a_moment_ago_is_usable(slow_generation_checks):
    register_demo_elsewhere(enabled=False)
    lookup.invalidate()
    assert not lookup.usable("demo.thing")
    Component.objects.filter(name="demo.thing").update(enabled=True)
    cache.incr(generation.GENERATION_KEY)
    assert lookup.components()["demo.thing"].enabled is False
    assert lookup.get("demo.thing").enabled is True


@pytest.mark.django_db(transaction=True)
def test_the_validator_does_not_report_a_component_registered_elsewhere_a_moment_ago(slow_generation_checks):
    from workflows.definitions.validation import validate

    definition = {"id": "uses-new", "steps": [{"id": "a", "component": "demo.thing"}]}
    assert [issue["code"] for issue in validate(definition)["issues"]] == ["unknown_component"]
    register_demo_elsewhere()
    assert validate(definition)["valid"]
