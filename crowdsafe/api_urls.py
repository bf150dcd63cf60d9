"""Routes under /api/ (the REST API): the original product's paths, with trailing slashes."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api.auth import LoginView, LogoutView, MeView, RefreshView
from accounts.api.users import UserViewSet
from alerts.api.views import AlertViewSet
from analytics.api import views as metrics
from cameras.api.recordings import RecordingViewSet
from cameras.api.views import CameraViewSet, ConnectionTestViewSet, camera_still, camera_stream
from crowdsafe.api.docs import RedocView, SchemaView, SwaggerView, redoc_bundle
from crowdsafe.api.settings_views import (
    RiskThresholdsView,
    RuntimeSettingsView,
    SettingKeyView,
    SettingsCategoryView,
    TelegramTestView,
)
from crowdsafe.api.system import HealthView, SystemLogViewSet, SystemStatsView
from reports.api import MetricsExportView

router = SimpleRouter()
router.register("cameras/test-connection", ConnectionTestViewSet, basename="camera-test-connection")
router.register("cameras", CameraViewSet, basename="camera")
router.register("alerts", AlertViewSet, basename="alert")
router.register("recordings", RecordingViewSet, basename="recording")
router.register("users", UserViewSet, basename="user")
router.register("system/logs", SystemLogViewSet, basename="system-log")

camera = "metrics/<int:camera_id>/"
urlpatterns = [
    path("system/health/", HealthView.as_view(), name="api-health"),  # wraps crowdsafe.api_health.health
    path("system/stats/", SystemStatsView.as_view(), name="api-system-stats"),
    path("auth/login/", LoginView.as_view(), name="api-login"),
    path("auth/refresh/", RefreshView.as_view(), name="api-refresh"),
    path("auth/logout/", LogoutView.as_view(), name="api-logout"),
    path("auth/me/", MeView.as_view(), name="api-me"),
    path("cameras/<int:camera_id>/stream/", camera_stream, name="api-camera-stream"),
    path("cameras/<int:camera_id>/still/", camera_still, name="api-camera-still"),
    path("metrics/summary/", metrics.MetricsOverviewView.as_view(), name="api-metrics-overview"),
    path(camera, metrics.MetricsHistoryView.as_view(), name="api-metrics"),
    path(camera + "history/", metrics.MetricsHistoryView.as_view(), name="api-metrics-history"),
    path(camera + "current/", metrics.MetricsCurrentView.as_view(), name="api-metrics-current"),
    path(camera + "summary/", metrics.MetricsSummaryView.as_view(), name="api-metrics-summary"),
    path(camera + "aggregate/", metrics.MetricsAggregateView.as_view(), name="api-metrics-aggregate"),
    path(camera + "export/", MetricsExportView.as_view(), name="api-metrics-export"),
    path("settings/", RuntimeSettingsView.as_view(), name="api-settings"),
    path("settings/telegram-test/", TelegramTestView.as_view(), name="api-settings-telegram-test"),
    path("settings/risk-thresholds/", RiskThresholdsView.as_view(), name="api-settings-risk"),
    path("settings/<slug:category>/", SettingsCategoryView.as_view(), name="api-settings-category"),
    path("settings/<slug:category>/<slug:key>/", SettingKeyView.as_view(), name="api-settings-key"),
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", SwaggerView.as_view(), name="api-docs"),
    path("redoc/", RedocView.as_view(), name="api-redoc"),
    path("redoc/redoc.standalone.js", redoc_bundle, name="api-redoc-bundle"),
    *router.urls,
]
