"""The observed status of a camera: written by runners and services, pushed to live views.

Connection failures and recoveries go to the audit trail once per transition, not once per
attempt: a camera that reconnects for an hour (reconnecting, connecting, reconnecting, ...)
leaves one "connection failed" entry, and one "connection recovered" when frames flow again.
The trail itself says where the camera stands: the newest of its failure, recovery, start
and stop entries (a start or stop ends an outage without a recovery).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from cameras import live
from cameras.models import Camera, CameraStatus
from core import audit

FAILING = frozenset({CameraStatus.ERROR, CameraStatus.RECONNECTING})
_CONNECTION_STATE = [
    audit.Action.CONNECTION_FAILED,
    audit.Action.CONNECTION_RECOVERED,
    audit.Action.CAMERA_START,
    audit.Action.CAMERA_STOP,
]


def set_status(camera_id: int, status: str, detail: str = "", *, seen: bool = False, **extra) -> None:
    """Write the observed status (and optionally last seen) and tell the live views."""
    fields: dict = {"status": status, "status_detail": detail[:500], **extra}
    if seen:
        fields["last_seen_at"] = timezone.now()
    with transaction.atomic():  # the row stays locked: concurrent writers see each other's entry
        rows = Camera.objects.filter(pk=camera_id)
        rows.exclude(status=status).update(status_since=timezone.now())  # a change, not a repeat
        updated = rows.update(**fields)
        if updated and (status in FAILING or status == CameraStatus.RUNNING):
            _audit_connection(camera_id, status, detail)
        since = rows.values_list("status_since", flat=True).first()
    live.push_status(camera_id, status, detail, since.isoformat() if since else None)


def _audit_connection(camera_id: int, status: str, detail: str) -> None:
    failing = audit.last_action("camera", camera_id, _CONNECTION_STATE) == audit.Action.CONNECTION_FAILED
    if status in FAILING and not failing:
        camera = Camera.objects.get(pk=camera_id)
        audit.record(
            audit.Action.CONNECTION_FAILED,
            obj=camera,
            level="WARNING",
            message=f"Camera {camera_id} “{camera}” {status}: {detail}".rstrip(": "),
            camera_id=camera_id,
            status=status,
            detail=detail[:500],
        )
    elif status == CameraStatus.RUNNING and failing:
        camera = Camera.objects.get(pk=camera_id)
        audit.record(
            audit.Action.CONNECTION_RECOVERED,
            obj=camera,
            message=f"Camera {camera_id} “{camera}” running again",
            camera_id=camera_id,
        )
