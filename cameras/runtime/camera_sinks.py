"""The camera app's own sinks: the recording, the live frame for viewers, the live push.

Registered in `CamerasConfig.ready()` like every other app's sinks (see sinks.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from cameras import live
from cameras.runtime import conf, sinks
from cameras.runtime.recorder import BackgroundRecorder, SegmentRecorder
from cameras.runtime.sinks import CameraContext, FrameOutput, FrameSink, SinkStart
from core.outages import warn_throttled
from core.risk import worst_risk

log = logging.getLogger(__name__)

HEATMAP_CHECK_S = 1.0  # how often the runner asks Redis whether a viewer wants the heatmap (or light)


def _ignore(message: str | None) -> None:
    pass


class RecordingSink(FrameSink):
    """The annotated video in H.264 segments, encoded in a thread of its own."""

    def __init__(self, start: SinkStart) -> None:
        self.recorder = (
            BackgroundRecorder(
                SegmentRecorder(
                    start.camera_id, start.record_fps, on_error=start.on_recording_error or _ignore
                )
            )
            if conf.recordings_enabled()
            else None
        )

    def on_frame(self, context: CameraContext, frame: FrameOutput) -> None:
        if self.recorder is not None:
            self.recorder.write(frame.annotated, frame.result.timestamp, frame.wall)

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()  # the open segment is finalised, also after a lost lease


class _Wish:
    """Whether some viewer wants an extra rendering, asked of Redis at most once a second."""

    def __init__(self, camera_id: int, ask: Callable[[int], bool], name: str) -> None:
        self.camera_id, self.ask, self.name = camera_id, ask, name
        self._checked = float("-inf")
        self._wanted = False

    def __call__(self, now: float) -> bool:
        if now - self._checked >= HEATMAP_CHECK_S:
            self._checked = now
            try:
                self._wanted = self.ask(self.camera_id)
            except Exception as exc:  # Redis away: not rendered, the frame itself may still go
                self._wanted = False
                warn_throttled(log, f"{self.name}-{self.camera_id}", "Camera %s: %s wish unreadable: %s",
                               self.camera_id, self.name, exc)
        return self._wanted


class LiveFrameSink(FrameSink):
    """The newest annotated frame (and the heatmap, or the wall's light rendering, while a
    viewer wants it) as JPEG in Redis, at most `live_frame_hz` times a second: MJPEG viewers
    poll it."""

    def __init__(self, start: SinkStart) -> None:
        self.camera_id = start.camera_id
        self.interval = 1.0 / conf.live_frame_hz()
        self.seq = 0
        self._last = float("-inf")
        self._wants_heatmap = _Wish(start.camera_id, live.heatmap_wanted, "heatmap")
        self._wants_light = _Wish(start.camera_id, live.light_wanted, "light")  # a wall tile
        self._raw_checked = float("-inf")

    def on_frame(self, context: CameraContext, frame: FrameOutput) -> None:
        self.seq += 1
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        heat = frame.heatmap_jpeg() if self._wants_heatmap(now) else None
        light = frame.light_jpeg() if self._wants_light(now) else None
        live.store_frame(self.camera_id, self.seq, frame.jpeg(), heat, light_jpeg=light)
        self._answer_raw_wish(now, frame)

    def _answer_raw_wish(self, now: float, frame: FrameOutput) -> None:
        """The zone editor's unannotated still, once per wish (checked as often as the heatmap's)."""
        if now - self._raw_checked < HEATMAP_CHECK_S:
            return
        self._raw_checked = now
        try:
            if live.take_raw_wish(self.camera_id):
                live.store_raw_still(self.camera_id, frame.raw_jpeg())
        except Exception as exc:  # Redis away: the editor says there is no still
            warn_throttled(log, f"raw-{self.camera_id}", "Camera %s: raw still not stored: %s",
                           self.camera_id, exc)


class LivePushSink(FrameSink):
    """The live figures to Redis and to the pages (camera and dashboard groups), at most
    `live_push_hz` times a second, without waiting (core.push)."""

    def __init__(self, start: SinkStart) -> None:
        self.camera_id = start.camera_id
        self.interval = 1.0 / conf.live_push_hz()
        self.pushes = 0
        self._last = float("-inf")

    def on_frame(self, context: CameraContext, frame: FrameOutput) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        camera = context.camera
        data = {**frame.payload, "camera_id": camera.pk, "name": camera.name, "status": "running",
                "time": frame.wall.isoformat()}
        try:
            live.store_metrics(camera.pk, data)
        finally:  # the pages get the figures even when Redis refused to store them
            live.push_camera_update(camera.pk, data, summary(context, frame))
            self.pushes += 1


def summary(context: CameraContext, frame: FrameOutput) -> dict:
    """The dashboard's per-camera figures."""
    result = frame.result
    return {
        "camera_id": context.camera.pk,
        "name": context.camera.name,
        "count": result.count,
        "density": round(result.density, 3),
        "risk_level": result.risk_level,
        "risk_score": round(result.risk_score, 4),
        "worst_risk": worst_risk(frame.payload),  # the camera's or its worst zone's
        "count_quality": result.count_quality.to_dict(),
        "status": "running",
    }


def register_all() -> None:
    sinks.register("recording", RecordingSink)
    sinks.register("live_frame", LiveFrameSink)
    sinks.register("live_push", LivePushSink)
