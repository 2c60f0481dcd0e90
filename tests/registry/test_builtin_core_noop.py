from tests.registry import builtin


def test_noop_returns_its_inputs_unchanged():
    inputs = {"value": "hi", "nested": {"list": [1, 2, None]}}

    assert builtin("core.noop")(**inputs) == inputs
