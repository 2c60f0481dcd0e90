"""Limits while building: a value that would pass its size limit stops as it grows, never built whole first.

text.template (registry/builtins/text.py) counts the bytes it writes; the
references in a step's inputs (workflows/definitions/references.py) count the text they
fill in. Peak memory is measured with tracemalloc, which sees every
allocation Python makes.
"""

import json
import tracemalloc

import pytest

from registry.builtins.text import render
from registry.catalog import ComponentError
from tests.registry import builtin
from workflows.definitions.references import TooLarge, json_size_over, resolve

MIB = 1024 * 1024
BIG = "x" * 1_000_000  # one copy fits in a MiB, two don't


def peak_bytes(function, *args, **kwargs):
    """(what `function` raised or returned, the peak memory it allocated on top of what existed)."""
    tracemalloc.start()
    try:
        try:
            outcome = function(*args, **kwargs)
        except Exception as exc:  # the refusal is the outcome under test
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --- text.template ---------------------------------------------------------------------


def test_a_template_repeating_a_large_value_stops_early_with_the_size_message():
    outcome, peak = peak_bytes(render, "{a}" * 200, {"a": BIG}, MIB)

    assert isinstance(outcome, ComponentError)
    assert f"output would exceed {MIB} bytes" in str(outcome)
    assert peak < 3 * MIB, f"peak {peak:,} bytes"  # 200 copies would be 200 MB


def test_a_large_non_string_value_is_written_as_json_once_and_stops_early():
    items = ["y" * 500] * 1000  # about 500 KB of JSON

    outcome, peak = peak_bytes(render, "{a}," * 200, {"a": items}, MIB)

    assert isinstance(outcome, ComponentError)
    assert "output would exceed" in str(outcome)
    assert peak < 3 * MIB, f"peak {peak:,} bytes"


def test_the_limit_counts_utf8_bytes_literal_text_and_braces():
    assert render("é{a}{{", {"a": "x"}, limit=4) == "éx{"  # 2 + 1 + 1 bytes
    with pytest.raises(ComponentError, match="output would exceed 3 bytes"):
        render("é{a}{{", {"a": "x"}, limit=3)
    with pytest.raises(ComponentError, match="output would exceed 4 bytes"):
        render("{a}tail", {"a": "x"}, limit=4)


def test_a_text_at_the_limit_is_fine():
    assert render("{a}{a}", {"a": "ab"}, limit=4) == "abab"


def test_the_component_stops_at_oaweb_max_output_bytes(settings):
    settings.OAWEB_MAX_OUTPUT_BYTES = 2048

    assert builtin("text.template")(template="{a}" * 2, values={"a": "x" * 1024}) == {"text": "x" * 2048}
    with pytest.raises(ComponentError, match="output would exceed 2048 bytes"):
        builtin("text.template")(template="{a}" * 3, values={"a": "x" * 1024})


# --- references in a step's inputs --------------------------------------------------------


def test_interpolating_a_large_input_many_times_stops_early():
    text = "{{ inputs.a }}" * 200

    outcome, peak = peak_bytes(resolve, {"text": text}, {"a": BIG}, {}, max_size=MIB)

    assert isinstance(outcome, TooLarge)
    assert f"over {MIB} bytes" in str(outcome)
    assert peak < 3 * MIB, f"peak {peak:,} bytes"


def test_interpolating_a_large_non_string_stops_before_writing_it_out():
    outcome, peak = peak_bytes(resolve, "n = {{ inputs.a }}", {"a": list(range(1_000_000))}, {}, max_size=MIB)

    assert isinstance(outcome, TooLarge)
    assert peak < MIB, f"peak {peak:,} bytes"  # json.dumps would have written 6.9 MB


def test_whole_references_repeated_count_each_time():
    # Shared, not copied, in memory; but stored as JSON they would be 200 copies.
    inputs = {"copies": ["{{ inputs.a }}"] * 200}

    with pytest.raises(TooLarge):
        resolve(inputs, {"a": BIG}, {}, max_size=MIB)


def test_inputs_under_the_limit_resolve_as_before():
    inputs = {"one": "{{ inputs.a }}", "text": "<{{ inputs.a }}>", "n": "{{ inputs.n }}"}

    resolved = resolve(inputs, {"a": BIG, "n": [1, 2]}, {}, max_size=2 * MIB)

    assert resolved == {"one": BIG, "text": f"<{BIG}>", "n": [1, 2]}
    assert resolve(inputs, {"a": BIG, "n": [1, 2]}, {}) == resolved  # no limit: as before


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, 2.5, None, True, 'é\n"', {"b": {}}], "": [], "c": [[1]]},
        ["x" * 100, [[[]]], {"k" * 10: -12345}],
        "plain",
        123456789,
    ],
)
def test_json_size_over_is_a_lower_bound(value):
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))  # the shortest way to write it

    assert not json_size_over(value, size)  # never says "over" for what fits
    assert json_size_over(value, 0)


def test_json_size_over_stops_early_on_a_shared_value():
    shared = list(range(100_000))
    huge = [shared] * 100_000  # 10 billion items as JSON

    _, peak = peak_bytes(json_size_over, huge, MIB)

    assert json_size_over(huge, MIB)
    assert peak < 10 * MIB, f"peak {peak:,} bytes"
