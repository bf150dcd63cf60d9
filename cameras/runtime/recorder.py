"""The runner's recording writer: annotated frames into H.264 MP4 segments, off the frame path.

Each segment (settings.CROWDSAFE_RECORDING_SEGMENT_SECONDS of video time) is finalised and
registered as a `Recording` row before the next opens, so a crash loses at most the open
segment. Deletion and retention: cameras/recordings.py.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection
from django.utils import timezone

from cameras.models import Recording, RecordingKind
from cameras.recordings import camera_recordings_dir
from cameras.runtime import conf

log = logging.getLogger(__name__)

MIN_SEGMENT_BYTES = 1000  # smaller files hold no playable video


def min_free_bytes() -> int:
    return int(conf.recording_min_free_mb() * 1024 * 1024)


class SegmentRecorder:
    """Writes annotated frames into segment files; `on_error(message | None)` reports trouble.

    Failures (disk full, codec, permissions) stop recording and are reported; they never
    raise into the camera loop. Recording is retried after `retry_s` of video time.
    """

    def __init__(
        self,
        camera_id: int,
        fps: float,
        *,
        segment_s: float | None = None,
        on_error: Callable[[str | None], None] = lambda _msg: None,
        retry_s: float = 60.0,
    ) -> None:
        self.camera_id = camera_id
        self.fps = max(float(fps), 0.5)
        self.segment_s = segment_s or conf.recording_segment_s()
        self.on_error = on_error
        self.retry_s = retry_s
        self.error: str | None = None
        self._failed_at: float | None = None
        self._writer = None
        self._path: Path | None = None
        self._codec = ""
        self._size: tuple[int, int] = (0, 0)
        self._start_ts = 0.0
        self._last_ts = 0.0
        self._started_at: datetime | None = None
        self._frames = 0
        self.segments: list[Recording] = []

    def write(self, image: np.ndarray, ts: float, wall: datetime) -> None:
        if self._failed_at is not None:
            if ts - self._failed_at < self.retry_s:
                return
            self._failed_at = None
        try:
            h, w = image.shape[:2]
            if self._writer is not None and (ts - self._start_ts >= self.segment_s or (w, h) != self._size):
                self._finalise()
            if self._writer is None:
                self._open((w, h), ts, wall)
            if self._frames % 50 == 0:
                self._check_space()
            self._writer.write(image)
            self._frames += 1
            self._last_ts = ts
            if self.error:
                self.error = None
                self.on_error(None)
        except Exception as exc:  # disk full, codec or permission trouble: analysis goes on
            self._fail(ts, exc)

    def _open(self, size: tuple[int, int], ts: float, wall: datetime) -> None:
        # At call time: every process imports this module (its sink is registered at start);
        # only a runner writing a recording loads the engine.
        from analytics.engine import open_video_writer

        folder = camera_recordings_dir(self.camera_id)
        folder.mkdir(parents=True, exist_ok=True)
        self._check_space()
        # A random part: segments never overwrite each other, even across restarts.
        stem = folder / f"{self.camera_id}_{wall:%Y%m%d_%H%M%S}_{uuid.uuid4().hex[:6]}_analysed"
        self._writer, self._path, self._codec = open_video_writer(stem, self.fps, size)
        self._size, self._start_ts, self._last_ts, self._started_at, self._frames = size, ts, ts, wall, 0

    def _check_space(self) -> None:
        folder = camera_recordings_dir(self.camera_id)
        free = shutil.disk_usage(folder if folder.exists() else settings.MEDIA_ROOT).free
        if free < min_free_bytes():
            raise OSError(f"disk full ({free // (1024 * 1024)} MB free)")

    def _fail(self, ts: float, exc: Exception) -> None:
        message = f"Recording stopped: {exc}. Analysis continues."
        log.warning("Camera %s: %s", self.camera_id, message)
        try:
            self._finalise()
        except Exception as final_exc:
            log.warning("Camera %s: could not finalise the segment: %s", self.camera_id, final_exc)
            self._writer = None
        self._failed_at = ts
        if self.error != message:
            self.error = message
            self.on_error(message)

    def _finalise(self) -> Recording | None:
        writer, path = self._writer, self._path
        self._writer, self._path = None, None
        if writer is None or path is None:
            return None
        writer.release()
        size = path.stat().st_size if path.exists() else 0
        if self._frames == 0 or size < MIN_SEGMENT_BYTES:
            path.unlink(missing_ok=True)
            return None
        duration = max(self._last_ts - self._start_ts + 1.0 / self.fps, self._frames / self.fps)
        started = self._started_at or timezone.now()
        recording = Recording.objects.create(
            camera_id=self.camera_id,
            kind=RecordingKind.ANALYSED,
            file=str(path.relative_to(Path(settings.MEDIA_ROOT))),
            started_at=started,
            ended_at=started + timedelta(seconds=duration),
            duration_s=round(duration, 3),
            frames=self._frames,
            width=self._size[0],
            height=self._size[1],
            fps=self.fps,
            size_bytes=size,
            codec=self._codec[:16],
        )
        self.segments.append(recording)
        return recording

    def close(self) -> Recording | None:
        """Finalise the open segment (if any) and register it."""
        try:
            return self._finalise()
        except Exception as exc:
            log.warning("Camera %s: could not finalise the recording: %s", self.camera_id, exc)
            return None


class BackgroundRecorder:
    """Runs a SegmentRecorder in its own thread, so video encoding (VP8 costs about as much
    CPU as detection) overlaps the analysis instead of adding to it. The queue is bounded:
    when encoding falls behind, `write` waits (back-pressure), so no frame is ever dropped
    from a recording and memory stays bounded."""

    def __init__(self, recorder: SegmentRecorder, max_queued: int = 30) -> None:

        self.recorder = recorder
        self._queue: queue.Queue = queue.Queue(maxsize=max_queued)
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"recorder-{recorder.camera_id}")
        self._thread.start()

    def write(self, image: np.ndarray, ts: float, wall: datetime) -> None:
        self._queue.put((image, ts, wall))

    def _run(self) -> None:
        try:
            while (item := self._queue.get()) is not None:
                self.recorder.write(*item)
            self.recorder.close()
        finally:
            connection.close()  # this thread's own database connection

    def close(self, timeout_s: float = 60.0) -> None:
        """Finish the queued frames and finalise the open segment."""
        self._queue.put(None)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning("Camera %s: recording still finishing after %s s", self.recorder.camera_id, timeout_s)
