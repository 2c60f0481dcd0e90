"""The trigger endpoints appear in a valid OpenAPI schema, with their error responses."""

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema


@pytest.fixture
def schema():
    GENERATOR_STATS.reset()
    return SchemaGenerator().get_schema(request=None, public=True)


def test_schema_is_valid_and_generated_without_warnings(schema):
    validate_schema(schema)
    assert not GENERATOR_STATS._warn_cache
    assert not GENERATOR_STATS._error_cache


def test_every_operation_documents_its_errors(schema):
    paths = schema["paths"]
    assert {"/api/v1/schedules/", "/api/v1/schedules/{id}/", "/api/v1/webhooks/{id}/rotate/"} <= set(paths)
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert {"401", "403", "404"} <= set(operation["responses"]), f"{method} {path}"
            if method in ("post", "put", "patch") and not path.endswith("/rotate/"):
                assert {"400", "413"} <= set(operation["responses"]), f"{method} {path}"
