"""Live push of new and changed alerts to the dashboard and the camera's page (Channels)."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from alerts.models import Alert
from alerts.selectors import unacknowledged_count

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
        "snapshot_url": alert.snapshot.url if alert.snapshot else None,
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
    """Send `event` (alert.new / alert.changed) to `dashboard` and `camera.<id>`.

    Never raises: a push is a convenience, the alert itself is already stored.
    """
    try:
        data = {**alert_summary(alert), "unacknowledged_count": unacknowledged_count()}
        layer = get_channel_layer()
        if layer is None:
            return
        message = {"type": event, "data": data}

        async def send() -> None:
            for group in ("dashboard", f"camera.{alert.camera_id}"):
                await layer.group_send(group, message)

        async_to_sync(send)()
    except Exception:  # noqa: BLE001 - see docstring
        logger.exception("Could not push %s for alert %s", event, alert.pk)
