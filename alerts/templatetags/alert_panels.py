"""Alert panels that pages of lower layers show (the camera page's recent alerts)."""

from __future__ import annotations

from django import template

from alerts.models import Alert
from alerts.selectors import latest_alerts
from alerts.text import hide_chat_ids

register = template.Library()


@register.simple_tag
def camera_alerts(camera, limit: int = 10) -> list[Alert]:
    return latest_alerts(limit, camera=camera)


@register.filter
def without_chat_ids(text: str) -> str:
    """An alert's notification text as non-admins may read it (alerts.text.hide_chat_ids)."""
    return hide_chat_ids(text)
