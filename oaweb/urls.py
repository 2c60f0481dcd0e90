from django.contrib import admin
from django.urls import include, path

from workflows.web.probes import healthz, prometheus_metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("workflows.api.urls")),
    path("hooks/", include("workflows.api.hooks")),
    path("healthz", healthz, name="healthz"),
    path("metrics", prometheus_metrics, name="prometheus"),
    path("", include("workflows.web.urls")),
]

# JSON for API clients, HTML pages for people.
handler404 = "workflows.api.errors.not_found"
handler500 = "workflows.api.errors.server_error"
