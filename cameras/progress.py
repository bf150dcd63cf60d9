"""How far a file camera's analysis got, so a runner started again resumes there.

A worker restart (a deploy) or crash must not analyse a file from the start again: that would
write its figures a second time under a new start time. The runner saves, on each heartbeat,
the source second after the last metric row written and the file's time origin; a new runner
for the same source skips to that second and keeps the origin, so rows continue where they
stopped. Stopping the camera, finishing the file or changing the source forgets it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from crowdsafe.redis import get_redis

TTL_S = 30 * 86400


def _key(camera_id: int) -> str:
    return f"crowdsafe:camera:{camera_id}:file-progress"


@dataclass(frozen=True)
class Progress:
    origin: datetime  # UTC datetime of the file's time 0
    resume_s: float  # source second to go on from


def save(camera_id: int, source: str, progress: Progress) -> None:
    data = {"source": source, "origin": progress.origin.isoformat(), "resume_s": progress.resume_s}
    get_redis().set(_key(camera_id), json.dumps(data), ex=TTL_S)


def load(camera_id: int, source: str) -> Progress | None:
    """The saved progress for this very source, else None."""
    raw = get_redis().get(_key(camera_id))
    if not raw:
        return None
    try:
        data = json.loads(raw)
        if data["source"] != source:
            return None
        return Progress(datetime.fromisoformat(data["origin"]), float(data["resume_s"]))
    except (ValueError, KeyError, TypeError):
        return None  # unreadable: start over rather than fail


def clear(camera_id: int) -> None:
    get_redis().delete(_key(camera_id))
