"""What the runner does with every processed frame.

Engine step, annotated frame to the recording and (as JPEG, at most `live_frame_hz` times a
second) to Redis, then the registered sinks (cameras/sinks.py: per-second metrics, alert
rules) with the per-camera context, and at most `live_push_hz` live pushes per second. The
result is serialised once per frame (`FrameOutput.payload`). Everything after the engine step
is best effort: a failing push, sink or disk never stops the analysis.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import cv2
import numpy as np

from analytics.engine import CrowdEngine, FrameResult, RenderOptions
from cameras import conf, live, sinks
from cameras.models import Camera
from cameras.readers import Frame
from cameras.recordings import BackgroundRecorder, SegmentRecorder
from core.outages import warn_throttled

log = logging.getLogger(__name__)

HEATMAP = RenderOptions(heatmap=True)
HEATMAP_CHECK_S = 1.0


def encode_jpeg(image: np.ndarray, quality: int, max_width: int) -> bytes:
    h, w = image.shape[:2]
    if max_width and w > max_width:
        image = cv2.resize(image, (max_width, round(h * max_width / w)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok else b""


class LazyJpeg:
    """An annotated frame encoded on first use only: most frames are neither shown live nor
    raise an alert, and encoding each would cost the analysis a few ms per frame."""

    def __init__(self, image: np.ndarray, quality: int, max_width: int) -> None:
        self.image, self.quality, self.max_width = image, quality, max_width
        self._data: bytes | None = None

    def __call__(self) -> bytes:
        if self._data is None:
            self._data = encode_jpeg(self.image, self.quality, self.max_width)
        return self._data


def summary(camera: Camera, result: FrameResult, status: str) -> dict:
    """The dashboard's per-camera figures."""
    return {
        "camera_id": camera.pk,
        "name": camera.name,
        "count": result.count,
        "density": round(result.density, 3),
        "risk_level": result.risk_level,
        "risk_score": round(result.risk_score, 4),
        "count_quality": result.count_quality.to_dict(),
        "status": status,
    }


class FramePipeline:
    def __init__(
        self,
        camera: Camera,
        engine: CrowdEngine,
        *,
        origin: datetime,
        record_fps: float,
        on_recording_error: Callable[[str | None], None],
        fence: Callable[[], bool] | None = None,
        on_written: Callable[[int], None] | None = None,
    ) -> None:
        self.context = sinks.CameraContext.load(camera)
        self.engine = engine
        self.origin = origin  # UTC datetime of source time 0
        self.sinks = sinks.build(sinks.SinkStart(camera.pk, origin, fence=fence, on_written=on_written))
        self.recorder = (
            BackgroundRecorder(SegmentRecorder(camera.pk, record_fps, on_error=on_recording_error))
            if conf.recordings_enabled()
            else None
        )
        self.push_interval = 1.0 / max(conf.live_push_hz(), 0.1)
        self.frame_interval = 1.0 / max(conf.live_frame_hz(), 0.1)
        self.jpeg_quality = conf.live_jpeg_quality()
        self.max_width = conf.live_max_width()
        self.status = "running"
        self.frames = 0
        self.pushes = 0
        self._last_push = 0.0
        self._last_frame = float("-inf")
        self._heatmap_checked = 0.0
        self._heatmap = False

    @property
    def camera(self) -> Camera:
        return self.context.camera

    def refresh(self, camera: Camera) -> None:
        """The heartbeat's fresh camera (zones and lines prefetched): a new per-camera context."""
        self.context = sinks.CameraContext.load(camera)

    @property
    def fenced(self) -> bool:
        """Another runner owns the camera: nothing more is written or pushed from here."""
        return any(sink.fenced for _, sink in self.sinks)

    def fence_out(self) -> None:
        """The lease is lost: every sink drops what it buffered and writes nothing more."""
        for name, sink in self.sinks:
            self._guard(name, sink.discard)

    def process(self, frame: Frame) -> FrameResult:
        result = self.engine.process(frame.image, frame.timestamp)
        annotated = self.engine.render(frame.image, result)
        wall = self.origin + timedelta(seconds=frame.timestamp)
        if self.recorder is not None:
            self.recorder.write(annotated, frame.timestamp, wall)
        out = sinks.FrameOutput(result, LazyJpeg(annotated, self.jpeg_quality, self.max_width))
        self.frames += 1
        now = time.monotonic()
        if now - self._last_frame >= self.frame_interval and not self.fenced:
            self._last_frame = now
            self._store_live_frame(frame, result, out.jpeg())
        for name, sink in self.sinks:
            if self.fenced:
                return result  # nothing more from a runner that was replaced
            self._guard(name, sink.on_frame, self.context, out)
        now = time.monotonic()
        if now - self._last_push >= self.push_interval and not self.fenced:
            self._last_push = now
            self.publish(out, wall)
        return result

    def _guard(self, name: str, call: Callable, *args) -> None:
        """Run a sink's step; a failure is logged (throttled per camera and sink), never raised."""
        try:
            call(*args)
        except Exception as exc:  # a database or Redis hiccup must not stop the analysis
            warn_throttled(log, f"sink-{name}-{self.camera.pk}", "Camera %s: %s sink failed: %s: %s",
                           self.camera.pk, name, type(exc).__name__, exc)

    def _store_live_frame(self, frame: Frame, result: FrameResult, jpeg: bytes) -> None:
        heat = None
        if self._wants_heatmap():
            heatmap = self.engine.render(frame.image, result, HEATMAP)
            heat = encode_jpeg(heatmap, self.jpeg_quality, self.max_width)
        try:
            live.store_frame(self.camera.pk, self.frames, jpeg, heat)
        except Exception as exc:
            warn_throttled(log, f"frame-{self.camera.pk}", "Camera %s: latest frame not stored: %s",
                           self.camera.pk, exc)

    def publish(self, out: sinks.FrameOutput, wall: datetime) -> None:
        data = dict(out.payload)
        data.update(
            camera_id=self.camera.pk,
            name=self.camera.name,
            status=self.status,
            time=wall.isoformat(),
        )
        try:
            live.store_metrics(self.camera.pk, data)
        except Exception as exc:
            warn_throttled(log, f"live-{self.camera.pk}", "Camera %s: live metrics not stored: %s",
                           self.camera.pk, exc)
        live.push_camera_update(self.camera.pk, data, summary(self.camera, out.result, self.status))
        self.pushes += 1

    def _wants_heatmap(self) -> bool:
        now = time.monotonic()
        if now - self._heatmap_checked >= HEATMAP_CHECK_S:
            self._heatmap_checked = now
            try:
                self._heatmap = live.heatmap_wanted(self.camera.pk)
            except Exception:
                self._heatmap = False
        return self._heatmap

    def heartbeat(self) -> None:
        """Every sink's periodic step (metrics written in batches, rule state checkpointed)."""
        for name, sink in self.sinks:
            if self.fenced:
                return
            self._guard(name, sink.on_heartbeat, self.context)

    def close(self) -> None:
        """Finalise the recording; every sink writes what is left (the last, partial second)."""
        if self.recorder is not None:
            self.recorder.close()
        for name, sink in self.sinks:
            if not self.fenced:
                self._guard(name, sink.close)
