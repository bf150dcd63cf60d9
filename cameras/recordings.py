"""Recordings of the annotated video: where they live, deletion, retention.

The runner writes them (cameras/runtime/recorder.py). A recording is never a camera's source:
uploads live in the upload folder, and deletion only ever removes files inside the recordings
folder.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from cameras.models import Recording

log = logging.getLogger(__name__)

MIN_SEGMENT_BYTES = 1000  # smaller files hold no playable video


def camera_recordings_dir(camera_id: int) -> Path:
    return Path(settings.RECORDINGS_DIR) / str(camera_id)


def recording_path(recording: Recording) -> Path | None:
    """The recording's file when it lies inside the recordings folder; None otherwise."""
    if not recording.file.name:
        return None
    root = Path(settings.RECORDINGS_DIR).resolve()
    path = (Path(settings.MEDIA_ROOT) / recording.file.name).resolve()
    return path if path.is_relative_to(root) and path != root else None


def delete_recording(recording: Recording) -> None:
    """Delete the file and the row. Files outside the recordings folder (a camera's uploaded
    source, anything else) are never touched."""
    path = recording_path(recording)
    if path is not None:
        path.unlink(missing_ok=True)
    recording.delete()


def purge_old_recordings(days: int | None = None) -> int:
    """Delete recordings (files and rows) older than the retention; 0 days keeps them forever."""
    days = settings.CROWDSAFE_RECORDINGS_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    for recording in Recording.objects.filter(started_at__lt=cutoff).iterator(chunk_size=500):
        delete_recording(recording)
        deleted += 1
    return deleted


