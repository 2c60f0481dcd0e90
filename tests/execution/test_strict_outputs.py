"""Outputs the database can't store (NaN, a lone surrogate, NUL from some web page) fail their step, with where.

Before, they reached the commit of the step's success, which failed: the
step then waited for its lease to expire and was reported as a dead worker.
"""

import pytest

from tests.conftest import run_definition
from tests.registry import reply, serve


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"x": [1, NaN]}', "NaN is not a finite number"),
        (b'{"x": [1, 1e400]}', "Infinity is not a finite number"),
        (b'{"x": [1, "\\udfff"]}', "lone surrogate"),
        (b'{"x": [1, "a\\u0000"]}', "NUL"),
    ],
    ids=["nan", "overflow", "lone-surrogate", "nul"],
)
def test_a_response_holding_a_value_that_cant_be_stored_fails_the_step(workers, settings, body, says):
    settings.OAWEB_HTTP_ALLOW_PRIVATE = True  # the local server below; the distributed workers allow it too
    with serve(lambda handler: reply(handler, body=body, content_type="application/json")) as server:
        definition = {
            "id": "fetch",
            "steps": [{"id": "get", "component": "http.request", "inputs": {"url": server.url}}],
        }
        run = run_definition(definition, timeout=30)

    assert run.status == "failed"
    error = run.steps.get(step_id="get").error
    assert "component returned outputs that can't be stored: /json/x/1: " in error, error
    assert says in error
