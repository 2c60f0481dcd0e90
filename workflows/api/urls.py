"""/api/v1/: the router, validation, metrics, and the OpenAPI schema with its docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from workflows.api import views
from workflows.api.trigger_views import register as register_triggers

router = DefaultRouter(trailing_slash=True)
router.register("components", views.ComponentViewSet, basename="component")
router.register("workflows", views.WorkflowViewSet, basename="workflow")
router.register("runs", views.RunViewSet, basename="run")
router.register("steps", views.StepViewSet, basename="step")
router.register("tokens", views.TokenViewSet, basename="token")
register_triggers(router)  # schedules/, webhooks/

urlpatterns = [
    path("validate", views.validate_definition, name="validate"),
    path("metrics/summary", views.metrics_summary, name="metrics-summary"),
    # Public: the schema describes the API, it holds no data.
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[AllowAny]), name="docs"),
    path("", include(router.urls)),
]
