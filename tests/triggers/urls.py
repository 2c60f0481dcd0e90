"""The project's URLs plus what the lead wires at integration: the trigger API and /hooks/."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from oaweb.urls import urlpatterns as project_urlpatterns
from workflows.api.triggers import register

router = DefaultRouter()
register(router)

urlpatterns = [
    path("api/v1/", include(router.urls)),
    path("hooks/", include("workflows.webhooks")),
    *project_urlpatterns,
]
