"""Where event clips (and snapshots) live, and the clips' deletion: with their alerts, and
after the recordings' retention (CROWDSAFE_RECORDINGS_RETENTION_DAYS), as the recordings
they are cut from.

Alerts raised within one clip's window share its file: it is deleted with the last of them.
Deletion only ever removes files inside the clips folder.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from alerts.models import Alert

CLIPS_FOLDER = "clips"
SNAPSHOTS_FOLDER = "snapshots"  # alerts.models.snapshot_upload_to


def clips_dir(camera_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / CLIPS_FOLDER / str(camera_id)


def media_path(name: str, folder: str) -> Path | None:
    """The file `name` (relative to MEDIA_ROOT) when it lies inside MEDIA_ROOT/`folder`;
    None otherwise."""
    if not name:
        return None
    root = (Path(settings.MEDIA_ROOT) / folder).resolve()
    path = (Path(settings.MEDIA_ROOT) / name).resolve()
    return path if path.is_relative_to(root) and path != root else None


def delete_clip_file(name: str) -> bool:
    """Remove the file unless an alert still refers to it; True when it was removed."""
    path = media_path(name, CLIPS_FOLDER)
    if path is None or Alert.objects.filter(clip=name).exists():
        return False
    path.unlink(missing_ok=True)
    return True


def purge_old_clips(days: int | None = None) -> int:
    """Clips of alerts raised before the recordings' retention: files deleted, fields cleared
    (the alert and its snapshot stay). 0 days keeps them forever. Returns the files deleted."""
    days = settings.CROWDSAFE_RECORDINGS_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    old = Alert.objects.filter(created_at__lt=cutoff).exclude(clip="")
    names = set(old.values_list("clip", flat=True))
    old.update(clip="", clip_start_s=None, clip_duration_s=None)
    # Files no alert took (a runner killed mid-clip, an alert deleted meanwhile), once as old.
    root = Path(settings.MEDIA_ROOT) / CLIPS_FOLDER
    for path in root.glob("*/*") if root.is_dir() else ():
        if path.is_file() and path.stat().st_mtime < cutoff.timestamp():
            names.add(path.relative_to(settings.MEDIA_ROOT).as_posix())
    return sum(delete_clip_file(name) for name in names)
