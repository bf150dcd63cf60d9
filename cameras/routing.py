"""Websocket routes for live camera and dashboard updates."""

from __future__ import annotations

from django.urls import re_path

from cameras.consumers import CameraConsumer, DashboardConsumer

websocket_urlpatterns: list = [
    re_path(r"^ws/cameras/(?P<camera_id>\d+)/$", CameraConsumer.as_asgi()),
    re_path(r"^ws/dashboard/$", DashboardConsumer.as_asgi()),
]
