"""Websocket routes of every app."""

from __future__ import annotations

from cameras.routing import websocket_urlpatterns as camera_routes

websocket_urlpatterns = [*camera_routes]
