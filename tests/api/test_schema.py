"""The OpenAPI schema documents every endpoint; the docs page is served without a CDN."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_schema_lists_every_endpoint(client: Client, owner):
    client.force_login(owner)

    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for expected in [
        "/api/v1/components/",
        "/api/v1/workflows/",
        "/api/v1/workflows/{slug}/versions/",
        "/api/v1/validate",
        "/api/v1/runs/",
        "/api/v1/runs/{id}/cancel/",
        "/api/v1/runs/{id}/rerun/",
        "/api/v1/steps/{id}/",
        "/api/v1/tokens/",
        "/api/v1/metrics/summary",
        "/api/v1/schedules/",
        "/api/v1/webhooks/",
    ]:
        assert expected in paths, expected
    assert "bearerAuth" in response.json()["components"]["securitySchemes"]


def test_the_docs_page_loads_its_assets_locally(client: Client, owner):
    client.force_login(owner)

    page = client.get("/api/v1/docs/").content.decode()

    assert "swagger-ui" in page
    assert "cdn" not in page.lower() and "https://" not in page.split("<body")[0]


def test_what_can_be_null_is_documented_as_nullable(client: Client, owner):
    # Found by fuzzing real objects (.ci/fuzz-api): a schedule that never
    # fired has no last run, and a deleted user leaves these empty.
    client.force_login(owner)

    schemas = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["components"]

    for component, field in [
        ("Schedule", "last_run"),
        ("Schedule", "created_by"),
        ("Webhook", "created_by"),
        ("WebhookWithToken", "created_by"),
        ("Version", "author"),
    ]:
        assert schemas["schemas"][component]["properties"][field].get("nullable") is True, (component, field)
