"""Read-only alert queries (counts and statistics for badges, pages and the API)."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, QuerySet
from django.utils import timezone

from alerts.models import Alert, AlertLevel, AlertStatus, AlertTrigger


def latest_alerts(limit: int = 10, camera=None) -> list[Alert]:
    """The newest alerts, of one camera or of all."""
    qs = Alert.objects.select_related("camera", "zone")
    if camera is not None:
        qs = qs.filter(camera=camera)
    return list(qs.order_by("-created_at")[:limit])


def alert_for_review(alert_id: int) -> Alert | None:
    """One alert with what its page shows: camera, zone, who worked it, its trail."""
    return (
        Alert.objects.select_related("camera", "zone", "acknowledged_by", "resolved_by")
        .prefetch_related("events__user")
        .filter(pk=alert_id)
        .first()
    )


def camera_timeline(camera, limit: int = 200) -> list[tuple[date, list[Alert]]]:
    """The camera's newest alerts by day (in the display time zone), newest first."""
    alerts = Alert.objects.select_related("zone").filter(camera=camera).order_by("-created_at")[:limit]
    days: dict[date, list[Alert]] = {}
    for alert in alerts:
        days.setdefault(timezone.localdate(alert.created_at), []).append(alert)
    return list(days.items())


def unacknowledged_count() -> int:
    """Alerts nobody has acknowledged yet (status open)."""
    return Alert.objects.filter(status=AlertStatus.OPEN).count()


def open_alerts_by_camera(camera_ids) -> dict[int, list[Alert]]:
    """Each camera's unacknowledged alerts, newest first (the wall highlights their tiles)."""
    found: dict[int, list[Alert]] = {}
    rows = Alert.objects.filter(status=AlertStatus.OPEN, camera_id__in=list(camera_ids))
    for alert in rows.order_by("-created_at"):
        found.setdefault(alert.camera_id, []).append(alert)
    return found


def _counts(queryset: QuerySet, field: str, choices) -> dict[str, int]:
    found = {row[field]: row["n"] for row in queryset.order_by().values(field).annotate(n=Count("id"))}
    return {value: found.get(value, 0) for value in choices.values}


def alert_statistics(queryset: QuerySet | None = None) -> dict:
    """Totals by level, status and trigger (every choice present, zeros included)."""
    qs = Alert.objects.all() if queryset is None else queryset
    by_status = _counts(qs, "status", AlertStatus)
    return {
        "total": sum(by_status.values()),
        "by_level": _counts(qs, "level", AlertLevel),
        "by_status": by_status,
        "by_trigger": _counts(qs, "trigger", AlertTrigger),
        "unacknowledged": by_status[AlertStatus.OPEN],
        "unresolved": by_status[AlertStatus.OPEN] + by_status[AlertStatus.ACKNOWLEDGED],
    }
