"""Routes under /api/ (the REST API)."""

from __future__ import annotations

from django.urls import path

from crowdsafe.api_health import health

urlpatterns = [
    path("system/health/", health, name="api-health"),
]
