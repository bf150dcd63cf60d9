"""Alert panels that pages of lower layers show (the camera page's recent alerts)."""

from __future__ import annotations

from django import template

from alerts.models import Alert
from alerts.selectors import latest_alerts

register = template.Library()


@register.simple_tag
def camera_alerts(camera, limit: int = 10) -> list[Alert]:
    return latest_alerts(limit, camera=camera)
