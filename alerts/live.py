"""Live push of new and changed alerts to the dashboard and the camera's page (Channels)."""

from __future__ import annotations

import logging
from typing import Any

from alerts.models import Alert
from alerts.selectors import unacknowledged_count
from core import push
from core.outages import warn_throttled

logger = logging.getLogger("alerts")

NEW = "alert.new"
CHANGED = "alert.changed"


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def alert_summary(alert: Alert) -> dict[str, Any]:
    """The JSON-safe summary pushed to clients (no secrets, no full metrics)."""
    scope = (alert.metrics or {}).get("scope") or {}
    return {
        "id": alert.pk,
        "camera_id": alert.camera_id,
        "camera_name": alert.camera.name,
        "zone_id": alert.zone_id,
        "zone_name": alert.zone.name if alert.zone_id else scope.get("zone_name", ""),
        "level": alert.level,
        "trigger": alert.trigger,
        "trigger_display": alert.get_trigger_display(),
        "status": alert.status,
        "message": alert.message,
        "count": scope.get("count"),
        "density": scope.get("density"),
        "risk_score": scope.get("risk_score"),
        "peak": alert.peak_metrics,
        "snapshot_url": alert.snapshot_url,
        "clip_url": alert.clip_url,
        "url": alert.get_absolute_url(),
        "created_at": _iso(alert.created_at),
        "updated_at": _iso(alert.updated_at),
        "acknowledged_by": alert.acknowledged_by.get_username() if alert.acknowledged_by_id else None,
        "acknowledged_at": _iso(alert.acknowledged_at),
        "resolved_by": alert.resolved_by.get_username() if alert.resolved_by_id else None,
        "resolved_at": _iso(alert.resolved_at),
        "all_clear_at": _iso(alert.all_clear_at),
        "notification_state": alert.notification_state,
    }


def push_alert(alert: Alert, event: str) -> None:
    """Send `event` (alert.new / alert.changed) to `dashboard` and `camera.<id>`, without
    waiting (core.push). Never raises: a push is a convenience, the alert itself is stored."""
    try:
        data = {**alert_summary(alert), "unacknowledged_count": unacknowledged_count()}
    except Exception as exc:  # noqa: BLE001 - the database is away: the page catches up on reload
        warn_throttled(logger, "alert-push", "Could not push %s for alert %s: %s", event, alert.pk, exc)
        return
    for group in (push.DASHBOARD_GROUP, push.camera_group(alert.camera_id)):
        push.push(group, event, data)
