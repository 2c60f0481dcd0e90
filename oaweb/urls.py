from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from workflows.web.probes import healthz, prometheus_metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("workflows.api.urls")),
    path("hooks/", include("workflows.api.hooks")),
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages that name none (the admin's).
    path("favicon.ico", RedirectView.as_view(url=static("oaweb/favicon.svg"), permanent=True)),
    path("metrics", prometheus_metrics, name="prometheus"),
    path("", include("workflows.web.urls")),
]

# JSON for API clients, HTML pages for people.
handler404 = "workflows.api.errors.not_found"
handler500 = "workflows.api.errors.server_error"
