from django.contrib import admin
from django.urls import include, path

from workflows.health import healthz
from workflows.prometheus import prometheus_metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("workflows.api.urls")),
    path("hooks/", include("workflows.webhooks")),
    path("healthz", healthz, name="healthz"),
    path("metrics", prometheus_metrics, name="prometheus"),
    path("", include("workflows.web.urls")),
]

# JSON for API clients, HTML pages for people.
handler404 = "workflows.api.errors.not_found"
handler500 = "workflows.api.errors.server_error"
