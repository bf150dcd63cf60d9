"""What the runner does with every processed frame: the engine step, then the sinks.

The engine analyses and renders the frame; the result goes, with the per-camera context, to
every sink in `CROWDSAFE_FRAME_SINKS` order (sinks.py): the recording, the live frame,
per-second metrics, the alert rules, the live push. The result is serialised at most once
(`FrameOutput.payload`) and the JPEG encoded at most once. Everything after the engine step
is best effort: a failing sink never stops the analysis, and once a sink finds that another
runner owns the camera, no sink gets anything more.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

import cv2
import numpy as np

from analytics.engine import CrowdEngine, FrameResult, RenderOptions
from cameras.models import Camera
from cameras.runtime import conf, sinks
from cameras.runtime.readers import Frame
from core.outages import warn_throttled

log = logging.getLogger(__name__)

HEATMAP = RenderOptions(heatmap=True)
# Small wall tiles: boxes and the risk badge only (HUD text is unreadable at tile size), smaller.
LIGHT = RenderOptions(
    labels=False, trails=False, flow=False, clusters=False, proximity=False, zones=False,
    lines=False, hud=False, sparklines=False, risk_badge=True,
)
LIGHT_MAX_WIDTH = 640
LIGHT_JPEG_QUALITY = 70


def encode_jpeg(image: np.ndarray, quality: int, max_width: int) -> bytes:
    h, w = image.shape[:2]
    if max_width and w > max_width:
        image = cv2.resize(image, (max_width, round(h * max_width / w)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok else b""


class LazyJpeg:
    """An image encoded on first use only: most frames are neither shown live nor raise an
    alert, and encoding each would cost the analysis a few ms per frame."""

    def __init__(self, render: Callable[[], np.ndarray], quality: int, max_width: int) -> None:
        self.render, self.quality, self.max_width = render, quality, max_width
        self._data: bytes | None = None

    def __call__(self) -> bytes:
        if self._data is None:
            self._data = encode_jpeg(self.render(), self.quality, self.max_width)
        return self._data


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
        start = sinks.SinkStart(
            camera.pk, origin, fence=fence, on_written=on_written, record_fps=record_fps,
            on_recording_error=on_recording_error,
        )
        self.sinks = sinks.build(start)
        self.jpeg_quality = conf.live_jpeg_quality()
        self.max_width = conf.live_max_width()
        self.frames = 0
        self.frame_ms: deque[float] = deque(maxlen=2000)  # engine + sinks, per frame (recent)

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

    def frame_ms_p95(self) -> float | None:
        """95th percentile of the recent frames' time from the engine's start to the last sink."""
        return float(np.percentile(self.frame_ms, 95)) if self.frame_ms else None

    def process(self, frame: Frame) -> FrameResult:
        started = time.perf_counter()
        result = self.engine.process(frame.image, frame.timestamp)
        annotated = self.engine.render(frame.image, result)
        out = sinks.FrameOutput(
            result,
            LazyJpeg(lambda: annotated, self.jpeg_quality, self.max_width),
            annotated=annotated,
            wall=self.origin + timedelta(seconds=frame.timestamp),
            heatmap_jpeg=LazyJpeg(
                lambda: self.engine.render(frame.image, result, HEATMAP), self.jpeg_quality, self.max_width
            ),
            raw_jpeg=LazyJpeg(lambda: frame.image, self.jpeg_quality, self.max_width),
            light_jpeg=LazyJpeg(
                lambda: self.engine.render(frame.image, result, LIGHT), LIGHT_JPEG_QUALITY,
                min(self.max_width or LIGHT_MAX_WIDTH, LIGHT_MAX_WIDTH),
            ),
        )
        self.frames += 1
        for name, sink in self.sinks:
            if self.fenced:
                break  # nothing more from a runner that was replaced
            self._guard(name, sink.on_frame, self.context, out)
        self.frame_ms.append((time.perf_counter() - started) * 1000)
        return result

    def heartbeat(self) -> None:
        """Every sink's periodic step (metrics written in batches, rule state checkpointed)."""
        for name, sink in self.sinks:
            if self.fenced:
                return
            self._guard(name, sink.on_heartbeat, self.context)

    def close(self) -> None:
        """Every sink finishes: the recording's open segment, the last (partial) second (sinks
        that were fenced out write nothing)."""
        for name, sink in self.sinks:
            self._guard(name, sink.close)

    def _guard(self, name: str, call: Callable, *args) -> None:
        """Run a sink's step; a failure is logged (throttled per camera and sink), never raised."""
        try:
            call(*args)
        except Exception as exc:  # a database or Redis hiccup must not stop the analysis
            warn_throttled(log, f"sink-{name}-{self.camera.pk}", "Camera %s: %s sink failed: %s: %s",
                           self.camera.pk, name, type(exc).__name__, exc)
