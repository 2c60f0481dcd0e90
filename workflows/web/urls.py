"""The pages people use in the browser. Every view requires login (see each module)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from workflows.alerts import pages as alert_pages  # issue 20
from workflows.audit import pages as audit_pages  # issue 20
from workflows.credentials import pages as credential_pages  # issue 20
from workflows.web import (
    approvals,
    components,
    dashboard,
    editor,
    metrics_page,
    runs,
    token_pages,
    trigger_panel,
    workers_page,
    workflow_pages,
)

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", dashboard.dashboard, name="dashboard"),
    # --- workflows, versions, the editor ---
    path("workflows/", workflow_pages.workflow_list, name="workflow-list"),
    path("workflows/new/", editor.workflow_new, name="workflow-new"),
    path("workflows/import/", editor.workflow_import, name="workflow-import"),
    path("workflows/validate/", editor.validate_source, name="workflow-validate"),
    path("workflows/<slug:slug>/", workflow_pages.workflow_detail, name="workflow-detail"),
    path("workflows/<slug:slug>/edit/", editor.workflow_edit, name="workflow-edit"),
    path("workflows/<slug:slug>/diff/", workflow_pages.version_diff, name="workflow-diff"),
    path(
        "workflows/<slug:slug>/versions/<int:version_id>/export/", workflow_pages.version_export, name="version-export"
    ),
    path("workflows/<slug:slug>/run/", workflow_pages.start_run, name="workflow-run"),
    # --- managing a workflow (issue 18) ---
    path(
        "workflows/<slug:slug>/archive/", workflow_pages.workflow_archive, {"archived": True}, name="workflow-archive"
    ),
    path(
        "workflows/<slug:slug>/unarchive/",
        workflow_pages.workflow_archive,
        {"archived": False},
        name="workflow-unarchive",
    ),
    path("workflows/<slug:slug>/delete/", workflow_pages.workflow_delete, name="workflow-delete"),
    # --- schedules and webhooks of a workflow (a panel the detail page loads) ---
    path("workflows/<slug:slug>/triggers/", trigger_panel.trigger_panel, name="workflow-triggers"),
    path("workflows/<slug:slug>/schedules/", trigger_panel.schedule_create, name="schedule-create"),
    path("workflows/<slug:slug>/schedules/<int:schedule_id>/", trigger_panel.schedule_change, name="schedule-change"),
    path("workflows/<slug:slug>/webhooks/", trigger_panel.webhook_create, name="webhook-create"),
    path("workflows/<slug:slug>/webhooks/<int:webhook_id>/", trigger_panel.webhook_change, name="webhook-change"),
    # --- runs ---
    path("runs/", runs.run_list, name="run-list"),
    path("runs/cancel/", runs.run_cancel_selected, name="run-cancel-selected"),  # issue 18: bulk cancel
    path("runs/<int:run_id>/again/", runs.run_again, name="run-again"),  # issue 18: run again, inputs editable
    path("runs/<int:run_id>/", runs.run_detail, name="run-detail"),
    path("runs/<int:run_id>/steps/<str:step_id>/", runs.step_detail, name="step-detail"),
    path("runs/<int:run_id>/cancel/", runs.run_cancel, name="run-cancel"),
    path("runs/<int:run_id>/steps/<str:step_id>/decide/", approvals.step_decide, name="step-decide"),
    path("approvals/<str:token>/", approvals.approval_link, name="approval-link"),
    path("runs/<int:run_id>/rerun/", runs.run_rerun, name="run-rerun"),
    # --- components ---
    path("components/", components.component_list, name="component-list"),
    path("components/<str:name>/", components.component_detail, name="component-detail"),
    # --- operations: the metrics page (Prometheus text is /metrics), workers ---
    path("stats/", metrics_page.metrics_page, name="metrics-page"),
    path("workers/", workers_page.worker_list, name="worker-list"),
    # --- API tokens ---
    path("tokens/", token_pages.token_list, name="token-list"),
    path("tokens/<int:token_id>/revoke/", token_pages.token_revoke, name="token-revoke"),
    # --- credentials, alerts, the audit log (issue 20) ---
    path("credentials/", credential_pages.credential_list, name="credential-list"),
    path("credentials/<int:credential_id>/", credential_pages.credential_detail, name="credential-detail"),
    path("credentials/<int:credential_id>/delete/", credential_pages.credential_delete, name="credential-delete"),
    path("alerts/", alert_pages.alert_page, name="alert-page"),
    path("alerts/channels/", alert_pages.channel_create, name="alert-channel-create"),
    path("alerts/channels/<int:channel_id>/", alert_pages.channel_change, name="alert-channel-change"),
    path("alerts/rules/", alert_pages.rule_create, name="alert-rule-create"),
    path("alerts/rules/<int:rule_id>/", alert_pages.rule_change, name="alert-rule-change"),
    path("audit/", audit_pages.audit_page, name="audit-page"),
]
