"""How far a file camera's analysis got, so a runner started again resumes there.

A worker restart (a deploy) or crash must not analyse a file from the start again: that would
write its figures a second time under a new start time. Every metrics write stores, in its own
transaction, the source second after its last row and the file's time origin (so no crash can
leave rows whose position was not stored: the file then started over under a new origin); a
new runner for the same source skips to that second and keeps the origin, so rows continue
where they stopped. Stopping the camera, finishing the file or changing the source forgets it.

It lives in the database (`FileProgress`), not in Redis: a Redis restart loses every key, and
the file then started over at 0 with a new origin (figures written twice, a gap in the rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cameras.models import FileProgress


@dataclass(frozen=True)
class Progress:
    origin: datetime  # UTC datetime of the file's time 0
    resume_s: float  # source second to go on from


def save(camera_id: int, source: str, progress: Progress) -> None:
    FileProgress.objects.update_or_create(
        camera_id=camera_id,
        defaults={"source": source, "origin": progress.origin, "resume_s": progress.resume_s},
    )


def load(camera_id: int, source: str) -> Progress | None:
    """The saved progress for this very source, else None."""
    saved = FileProgress.objects.filter(camera_id=camera_id, source=source).first()
    return None if saved is None else Progress(saved.origin, saved.resume_s)


def clear(camera_id: int) -> None:
    FileProgress.objects.filter(camera_id=camera_id).delete()
