"""How pages name a camera's status and read its live figures.

One vocabulary: the labels of `cameras.models.CameraStatus` (the API's `status_label` too),
whatever page, tile or live fragment shows the status.
"""

from __future__ import annotations

from typing import Any

from django import template

from cameras.models import CameraStatus, status_label
from core.risk import worst_risk as _worst_risk

register = template.Library()

# Statuses whose MJPEG stream can answer: other ones get a placeholder, never an image.
STREAMING = frozenset(
    {CameraStatus.RUNNING, CameraStatus.STARTING, CameraStatus.RECONNECTING, CameraStatus.RECOVERING}
)


@register.filter
def camera_status_label(status: Any) -> str:
    return status_label(status)


@register.filter
def may_stream(status: Any) -> bool:
    return status in STREAMING


@register.filter
def worst_risk(figures: Any) -> dict | None:
    """The worse of the camera's risk and its zones' ({"level", "score", "zone"})."""
    return _worst_risk(figures)
