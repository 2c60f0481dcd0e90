"""Every built-in declares schemas the validator can rely on."""

import jsonschema
import pytest

from registry.catalog import CATALOG

BUILTINS = ["core.noop", "core.sleep", "core.fail", "text.template", "json.pick", "http.request", "llm.chat"]
# core.noop returns whatever it was given: no fixed output properties.
OPEN_OUTPUTS = {"core.noop"}


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_schemas_are_valid_json_schemas(name):
    spec = CATALOG[name]

    jsonschema.Draft202012Validator.check_schema(spec.input_schema)
    jsonschema.Draft202012Validator.check_schema(spec.output_schema)


@pytest.mark.parametrize("name", sorted(set(BUILTINS) - OPEN_OUTPUTS))
def test_builtin_output_schemas_list_their_properties(name):
    output = CATALOG[name].output_schema

    assert output["type"] == "object"
    assert output["properties"]
    assert set(output["required"]) <= set(output["properties"])


@pytest.mark.parametrize("name", sorted(set(BUILTINS) - OPEN_OUTPUTS))
def test_builtin_inputs_are_closed_and_defaults_fit_their_schema(name):
    inputs = CATALOG[name].input_schema

    assert inputs["additionalProperties"] is False
    for prop in inputs["properties"].values():
        if "default" in prop:
            jsonschema.validate(prop["default"], prop)


@pytest.mark.parametrize("name", BUILTINS)
def test_builtins_run_on_the_default_queue(name):
    assert CATALOG[name].queue == "default"
