from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from workflows.health import healthz

urlpatterns = [
    # Until the dashboard lands, the admin is the way in.
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("workflows.api.urls")),
    path("hooks/", include("workflows.webhooks")),
    path("healthz", healthz, name="healthz"),
]

# JSON for API clients, HTML pages for people.
handler404 = "workflows.api.errors.not_found"
handler500 = "workflows.api.errors.server_error"
