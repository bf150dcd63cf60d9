"""Routes of the HTML pages (the operator dashboard)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views as account_views
from alerts import views as alert_views
from analytics import views as analytics_views
from cameras import views as camera_views
from crowdsafe import views
from reports import views as report_views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html",
                                                redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/password_reset_confirm.html", success_url="/login/"
        ),
        name="password_reset_confirm",
    ),
    path("", views.dashboard, name="dashboard"),
    path("dashboard/grid/", views.dashboard_grid, name="dashboard_grid"),
    path("dashboard/layout/", views.dashboard_layout, name="dashboard_layout"),
    path("dashboard/alerts/", views.latest_alerts_fragment, name="dashboard_alerts"),
    # cameras
    path("cameras/", camera_views.camera_list, name="cameras"),
    path("cameras/add/", camera_views.camera_add, name="camera_add"),
    path("cameras/test-connection/", camera_views.camera_test_connection, name="camera_test_connection"),
    path("cameras/<int:camera_id>/", camera_views.camera_detail, name="camera_detail"),
    path("cameras/<int:camera_id>/edit/", camera_views.camera_edit, name="camera_edit"),
    path("cameras/<int:camera_id>/delete/", camera_views.camera_delete, name="camera_delete"),
    path("cameras/<int:camera_id>/upload/", camera_views.camera_upload, name="camera_upload"),
    path("cameras/<int:camera_id>/start/", camera_views.camera_start, name="camera_start"),
    path("cameras/<int:camera_id>/stop/", camera_views.camera_stop, name="camera_stop"),
    path("cameras/<int:camera_id>/test/", camera_views.camera_test_saved, name="camera_test"),
    path("cameras/<int:camera_id>/frame.jpg", camera_views.camera_frame, name="camera_frame"),
    path("cameras/<int:camera_id>/still.jpg", camera_views.camera_raw_still, name="camera_raw_still"),
    path("cameras/<int:camera_id>/zones/", camera_views.camera_zones, name="camera_zones"),
    # recordings
    path("recordings/", camera_views.recording_list, name="recordings"),
    path("recordings/<int:recording_id>/file/", camera_views.recording_file, name="recording_file"),
    path("recordings/<int:recording_id>/delete/", camera_views.recording_delete, name="recording_delete"),
    # analytics
    path("analytics/", analytics_views.analytics_page, name="analytics"),
    path("analytics/export/", report_views.analytics_export, name="analytics_export"),
    # alerts
    path("alerts/", alert_views.alert_list, name="alerts"),
    path("alerts/<int:alert_id>/", alert_views.alert_detail, name="alert_detail"),
    path("cameras/<int:camera_id>/events/", alert_views.camera_events, name="camera_events"),
    path("alerts/<int:alert_id>/acknowledge/", alert_views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:alert_id>/resolve/", alert_views.alert_resolve, name="alert_resolve"),
    # admin pages
    path("settings/", views.settings_page, name="settings"),
    path("settings/telegram-test/", views.telegram_test, name="telegram_test"),
    path("users/", account_views.user_list, name="users"),
    path("users/add/", account_views.user_add, name="user_add"),
    path("users/<int:user_id>/", account_views.user_edit, name="user_edit"),
    path("users/<int:user_id>/delete/", account_views.user_delete, name="user_delete"),
    path("logs/", views.logs_page, name="logs"),
]
