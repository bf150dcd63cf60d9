"""The metrics sink: every analysed frame into per-second `Metric` rows (see metrics_writer)."""

from __future__ import annotations

import time

from analytics.metrics_writer import MetricsWriter
from cameras.runtime.sinks import CameraContext, FrameOutput, FrameSink, SinkStart

FLUSH_EVERY_S = 5.0  # completed seconds are written in batches, at most this long after


class MetricsSink(FrameSink):
    def __init__(self, start: SinkStart, flush_every_s: float = FLUSH_EVERY_S) -> None:
        self.writer = MetricsWriter(
            start.camera_id, start.origin, fence=start.fence, on_written=start.on_written
        )
        self.flush_every_s = flush_every_s
        self._last_flush = time.monotonic()

    @property
    def fenced(self) -> bool:
        return self.writer.fenced

    def on_frame(self, context: CameraContext, frame: FrameOutput) -> None:
        self.writer.add(frame.result)

    def on_heartbeat(self, context: CameraContext) -> None:
        self.writer.zone_ids = set(context.zones)
        now = time.monotonic()
        if now - self._last_flush >= self.flush_every_s:
            self._last_flush = now
            self.writer.flush_pending()

    def discard(self) -> None:
        self.writer.discard()

    def close(self) -> None:
        self.writer.close()
