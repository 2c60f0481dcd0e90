"""A component registered on another machine a moment ago runs at once.

Every process reads the registry's shared generation at most once a second
(registry/lookup.py); nothing may refuse a component on an answer that old.
"""

import time

from registry import generation, lookup
from registry.catalog import CATALOG
from registry.models import Component
from tests.conftest import noop_definition, run_definition
from tests.registry import register_elsewhere


def test_a_step_of_a_component_registered_elsewhere_a_moment_ago_runs(workers):
    Component.objects.filter(name="core.sleep").delete()  # a queryset: no save(), no invalidate
    lookup.invalidate()
    time.sleep(generation.GENERATION_CHECK_SECONDS)  # every process's next lookup reads this generation
    assert run_definition(noop_definition("warm")).status == "succeeded"  # the worker has just read it

    row = Component(name="core.sleep")
    row.apply_spec(CATALOG["core.sleep"])
    register_elsewhere(row)  # as sync_components on another machine
    run = run_definition({"id": "nap", "steps": [{"id": "nap", "component": "core.sleep", "inputs": {"seconds": 0}}]})

    assert run.status == "succeeded", run.steps.get().error
