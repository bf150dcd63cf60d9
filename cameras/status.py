"""The observed status of a camera: written by runners and services, pushed to live views."""

from __future__ import annotations

from django.utils import timezone

from cameras import live
from cameras.models import Camera


def set_status(camera_id: int, status: str, detail: str = "", *, seen: bool = False, **extra) -> None:
    """Write the observed status (and optionally last seen) and tell the live views."""
    fields: dict = {"status": status, "status_detail": detail[:500], **extra}
    if seen:
        fields["last_seen_at"] = timezone.now()
    Camera.objects.filter(pk=camera_id).update(**fields)
    live.push_status(camera_id, status, detail)
