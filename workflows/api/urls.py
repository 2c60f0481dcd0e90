"""/api/v1/: the router, validation, metrics, and the OpenAPI schema with its docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from workflows.api import alert_views, audit_views, credential_views, views, wait_views  # alert/audit/credential: #20
from workflows.api.trigger_views import register as register_triggers

router = DefaultRouter(trailing_slash=True)
router.register("components", views.ComponentViewSet, basename="component")
router.register("workflows", views.WorkflowViewSet, basename="workflow")
router.register("runs", views.RunViewSet, basename="run")
router.register("steps", views.StepViewSet, basename="step")
router.register("tokens", views.TokenViewSet, basename="token")
register_triggers(router)  # schedules/, webhooks/
credential_views.register(router)  # issue 20: credentials/
alert_views.register(router)  # issue 20: alert-channels/, alert-rules/, alert-deliveries/
audit_views.register(router)  # issue 20: audit/

urlpatterns = [
    path("validate", views.validate_definition, name="validate"),
    path("metrics/summary", views.metrics_summary, name="metrics-summary"),
    path("runs/<int:id>/steps/<str:step>/logs", views.step_log, name="step-log"),
    path("runs/<int:id>/steps/<str:step>/approve", wait_views.approve, name="step-approve"),
    path("runs/<int:id>/steps/<str:step>/reject", wait_views.reject, name="step-reject"),
    path("runs/<int:id>/events/<str:name>", wait_views.post_event, name="run-event"),
    # Public: the schema describes the API, it holds no data.
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[AllowAny]), name="docs"),
    path("", include(router.urls)),
]
