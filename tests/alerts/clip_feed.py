"""The alerts and event-clip sinks fed as a runner feeds them, with frames that tell their time
(shared by the clip tests and the browser's event review test)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import cv2
import numpy as np

from alerts.clips import EventClipSink
from alerts.sinks import AlertSink
from cameras.models import Camera
from cameras.runtime.sinks import CameraContext, FrameOutput, SinkStart
from tests.alerts.frames import make_frame, timeline

ORIGIN = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
FPS = 10


def painted(ts: float, size: tuple[int, int] = (1280, 720)) -> np.ndarray:
    """A frame that tells its time: its number (ts x fps) in 8 black or white stripes, one
    per bit (survives H.264 and downscaling)."""
    number, (w, h) = round(ts * FPS), size
    image = np.zeros((h, w, 3), np.uint8)
    for bit in range(8):
        if number >> bit & 1:
            image[:, bit * w // 8:(bit + 1) * w // 8] = 255
    return image


def number(image: np.ndarray) -> int:
    w = image.shape[1]
    return sum(1 << bit for bit in range(8) if image[:, bit * w // 8 + 4:(bit + 1) * w // 8 - 4].mean() > 127)


def encoded(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image)[1].tobytes()


class Runner:
    """The two sinks in CROWDSAFE_FRAME_SINKS order, fed 1280x720 annotated frames."""

    def __init__(self, camera: Camera) -> None:
        start = SinkStart(camera.pk, ORIGIN, record_fps=FPS)
        self.alerts, self.clips = AlertSink(start), EventClipSink(start)
        self.context = CameraContext.load(Camera.objects.prefetch_related("zones").get(pk=camera.pk))

    def feed(self, start: float, end: float, **frame_kw) -> None:
        for ts in timeline(start, end, FPS):
            image = painted(ts)
            snapshot = partial(encoded, image)  # the annotated frame, as the runner's JPEG
            frame = FrameOutput(make_frame(ts, **frame_kw), snapshot, annotated=image, wall=ORIGIN)
            self.alerts.on_frame(self.context, frame)
            self.clips.on_frame(self.context, frame)
