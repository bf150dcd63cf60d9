"""Event clips: each alert's annotated video, from PRE_S before its trigger to POST_S after.

The `event_clips` sink (after `alerts` in CROWDSAFE_FRAME_SINKS) keeps the last PRE_S seconds
of annotated frames in memory, at most `fps` a second, downscaled to at most 640 px wide and
JPEG-compressed: about 30-60 KB a frame, so 10 s at 10 fps hold 3-6 MB a camera (a hard cap of
PRE_S x fps + 1 frames, whatever their size). When the rules raise an alert on a frame
(`alert_raised`, called by alerts.hooks), the pre-roll and the next POST_S seconds go to a
thread of the sink's own that encodes them through the recordings' writer (H.264 MP4) and then
attaches the file to the alert (services.attach_clip): the frame path only downscales and
JPEG-encodes (~2 ms a frame), it never encodes video.

An alert raised while a clip is still open joins it (one file, several alerts) and extends its
post-roll, up to MAX_EXTENSIONS x POST_S beyond the first trigger. A camera that stops, or a
runner that loses its lease, finalises the open clip at once: shorter, still playable.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import shutil
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from django.conf import settings
from django.db import connection

from alerts import clip_store, services
from cameras.runtime import conf
from cameras.runtime.sinks import CameraContext, FrameOutput, FrameSink, SinkStart
from core.outages import warn_throttled

log = logging.getLogger("alerts")

MAX_WIDTH = 640  # clip frames are downscaled to this width at most (memory, file size)
JPEG_QUALITY = 75
MAX_EXTENSIONS = 3  # an open clip grows by at most this many post-rolls past its first trigger
QUEUE_ITEMS = 64  # pre-roll lists and single frames waiting for the encoder (back-pressure)

Frame = tuple[float, bytes]  # (source clock in s, JPEG)

_lock = threading.Lock()
_sinks: dict[int, EventClipSink] = {}  # camera id -> its runner's clip sink in this process


def alert_raised(camera_id: int, alert_id: int) -> None:
    """The rules raised `alert_id` on the camera's current frame; its runner's clip sink (if
    this process runs one for the camera) clips it. Anywhere else (tests, tools): nothing."""
    with _lock:
        sink = _sinks.get(camera_id)
    if sink is not None:
        sink.pending.append(alert_id)


def shrink(image: np.ndarray) -> bytes:
    """The frame at most MAX_WIDTH wide (even sides, as yuv420p needs), as JPEG."""
    h, w = image.shape[:2]
    scale = min(1.0, MAX_WIDTH / w)
    size = (max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2))
    if size != (w, h):
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


@dataclass
class _OpenClip:
    """The clip being collected on the frame thread."""

    first_trigger_s: float
    end_s: float
    alert_ids: list[int] = field(default_factory=list)


class EventClipSink(FrameSink):
    """The pre-roll and the open clip, on the runner's frame thread (see the module's doc)."""

    def __init__(self, start: SinkStart) -> None:
        self.camera_id = start.camera_id
        self.fps = max(float(start.record_fps), 1.0)
        self.pre_s = float(settings.CROWDSAFE_EVENT_CLIP_PRE_S)
        self.post_s = float(settings.CROWDSAFE_EVENT_CLIP_POST_S)
        self.enabled = bool(settings.CROWDSAFE_EVENT_CLIPS_ENABLED)
        self.pending: list[int] = []  # alerts raised on the current frame (alert_raised)
        self.ring: deque[Frame] = deque(maxlen=math.ceil(self.pre_s * self.fps) + 1)
        self._slot = -1  # the last 1/fps slot of the source clock that kept a frame
        self._last_ts = float("-inf")
        self._clip: _OpenClip | None = None
        self.encoder = ClipEncoder(self.camera_id, self.fps) if self.enabled else None
        if self.enabled:
            with _lock:
                _sinks[self.camera_id] = self

    def on_frame(self, context: CameraContext, frame: FrameOutput) -> None:
        if self.encoder is None:
            return
        ts = float(frame.result.timestamp)
        if ts < self._last_ts - 1.0:  # the source started over (a file resumed, a restart)
            self._finish()
            self.ring.clear()
            self._slot = -1
        self._last_ts = ts
        slot = math.floor(ts * self.fps + 1e-6)
        if slot > self._slot and frame.annotated is not None:
            self._slot = slot
            item = (ts, shrink(frame.annotated))
            self.ring.append(item)
            while self.ring and self.ring[0][0] < ts - self.pre_s:
                self.ring.popleft()
            if self._clip is not None:
                self.encoder.submit(("frame", item))
        raised, self.pending = self.pending, []
        for alert_id in raised:
            self._add_alert(alert_id, ts)
        if self._clip is not None and ts >= self._clip.end_s:
            self._finish()

    def _add_alert(self, alert_id: int, ts: float) -> None:
        clip = self._clip
        if clip is None:
            self._clip = _OpenClip(ts, ts + self.post_s, [alert_id])
            self.encoder.submit(("open", list(self.ring)))  # the pre-roll, this frame included
            return
        clip.alert_ids.append(alert_id)
        longest = clip.first_trigger_s + MAX_EXTENSIONS * self.post_s
        clip.end_s = max(clip.end_s, min(ts + self.post_s, longest))

    def _finish(self) -> None:
        if self._clip is not None:
            self.encoder.submit(("close", tuple(self._clip.alert_ids)))
            self._clip = None

    def discard(self) -> None:
        # The lease is lost: the open clip belongs to alerts this runner raised, so it is still
        # finalised (as the recording's segment is); nothing new is clipped.
        self.pending = []
        self._finish()
        self.ring.clear()

    def close(self) -> None:
        with _lock:
            if _sinks.get(self.camera_id) is self:
                del _sinks[self.camera_id]
        if self.encoder is not None:
            self._finish()
            self.encoder.close()


class ClipEncoder:
    """The sink's encoding thread: JPEG frames in, an H.264 MP4 per clip out, attached to its
    alerts. The queue is bounded: when encoding falls behind, `submit` waits (no frame is
    dropped from a clip and memory stays bounded)."""

    def __init__(self, camera_id: int, fps: float) -> None:
        self.camera_id = camera_id
        self.fps = fps
        self.clips: list[Path] = []  # files finished by this encoder (tests, logs)
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_ITEMS)
        self._writer = None
        self._path: Path | None = None
        self._start_s: float | None = None
        self._written = 0
        self._failed = False
        self._held: np.ndarray | None = None  # the last frame written, repeated over gaps
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"clips-{camera_id}")
        self._thread.start()

    def submit(self, item: tuple) -> None:
        self._queue.put(item)

    def close(self, timeout_s: float = 60.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning("Camera %s: event clip still encoding after %s s", self.camera_id, timeout_s)

    def _run(self) -> None:
        try:
            while (item := self._queue.get()) is not None:
                kind, data = item
                try:
                    if kind == "open":
                        self._open(data)
                    elif kind == "frame":
                        self._add(*data)
                    else:
                        self._close(data)
                except Exception as exc:  # disk, codec: this clip is lost, the alert and analysis are not
                    warn_throttled(log, f"clip-{self.camera_id}", "Camera %s: event clip failed: %s",
                                   self.camera_id, exc)
                    self._drop()
            self._drop()
        finally:
            connection.close()  # this thread's own database connection

    def _open(self, frames: list[Frame]) -> None:
        self._drop()
        self._failed, self._written, self._start_s, self._held = False, 0, None, None
        for ts, jpeg in frames:
            self._add(ts, jpeg)

    def _add(self, ts: float, jpeg: bytes) -> None:
        if self._failed:  # the rest of a failed clip is skipped
            return
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        if self._writer is None:
            self._start_s = ts
            self._writer, self._path = self._new_writer(image.shape[1], image.shape[0])
        # One frame per 1/fps of the source clock: over a gap (a slow or stalled source) the
        # last frame is held until this one, so the clip plays in the video's own time.
        slot = round((ts - self._start_s) * self.fps)
        while self._held is not None and self._written < slot:
            self._writer.write(self._held)
            self._written += 1
        if self._written <= slot:
            self._writer.write(image)
            self._written += 1
        self._held = image

    def _new_writer(self, width: int, height: int):
        # At call time: only a runner that clips an alert loads the engine's writer.
        from analytics.engine import open_video_writer

        folder = clip_store.clips_dir(self.camera_id)
        folder.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(folder).free
        if free < conf.recording_min_free_mb() * 1024 * 1024:
            raise OSError(f"disk full ({free // (1024 * 1024)} MB free)")
        stem = folder / f"{self.camera_id}_clip_{uuid.uuid4().hex[:10]}"
        writer, path, _codec = open_video_writer(stem, self.fps, (width, height))
        return writer, path

    def _close(self, alert_ids: tuple[int, ...]) -> None:
        writer, path = self._writer, self._path
        self._writer, self._path = None, None
        if writer is None or path is None:
            return
        writer.release()
        self._held = None
        duration = self._written / self.fps
        name = path.relative_to(Path(settings.MEDIA_ROOT)).as_posix()
        if services.attach_clip(alert_ids, name, start_s=self._start_s or 0.0, duration_s=duration):
            self.clips.append(path)
        else:  # every alert of it was deleted meanwhile
            path.unlink(missing_ok=True)

    def _drop(self) -> None:
        """Abandon the clip being written (failure or shutdown without a close)."""
        writer, path = self._writer, self._path
        self._writer, self._path, self._failed = None, None, True
        if writer is not None:
            with contextlib.suppress(Exception):  # the file goes anyway
                writer.release()
        if path is not None:
            path.unlink(missing_ok=True)
