"""The alerts sink: the rules on every analysed frame, their state kept in the runner.

The lease guarantees one runner per camera, so the rule state needs no per-frame Redis round
trip: it is loaded once (a takeover resumes where the last runner checkpointed) and saved at
each heartbeat, and at once after any frame that raised, escalated, updated or cleared an
alert, so that a runner killed right after never makes its successor fire again.
"""

from __future__ import annotations

import time

from alerts import hooks, state
from cameras.runtime.sinks import CameraContext, FrameOutput, FrameSink, SinkStart


class AlertSink(FrameSink):
    def __init__(self, start: SinkStart) -> None:
        self.camera_id = start.camera_id
        self.state: state.CameraState | None = None
        self._zones: tuple[CameraContext | None, hooks.ZoneMap] = (None, {})

    def on_frame(self, context: CameraContext, frame: FrameOutput) -> None:
        ts = float(frame.result.timestamp)
        if self.state is None:
            self.state = state.load(self.camera_id, ts)
        before = self._alerts()
        hooks.on_frame(
            context.camera, frame.payload, frame.jpeg,
            zones=self._zone_map(context), settings=context.settings, cam_state=self.state,
        )
        if self._alerts() != before:  # raised, escalated, cleared: saved at once (even if a
            # later rule of the same frame failed), so a successor never fires it again
            state.save(self.state, ts, time.time(), context.settings.alert_cooldown_s)

    def on_heartbeat(self, context: CameraContext) -> None:
        if self.state is not None:
            state.pop_resolved(self.state)
            self.checkpoint(context)

    def checkpoint(self, context: CameraContext) -> None:
        """The whole state to Redis (also after Redis restarted empty)."""
        if self.state is not None and self.state.clock is not None:
            state.checkpoint(self.state, self.state.clock, time.time(), context.settings.alert_cooldown_s)

    def discard(self) -> None:
        self.state = None  # another runner owns the camera (and its state) now

    def close(self) -> None:
        if self._zones[0] is not None:
            self.checkpoint(self._zones[0])

    def _alerts(self) -> dict[str, tuple]:
        """What a successor must know not to fire twice: each key's alert, level and firing."""
        keys = self.state.keys if self.state is not None else {}
        return {name: (st.alert_id, st.level, st.last_fired, st.cleared) for name, st in keys.items()}

    def _zone_map(self, context: CameraContext) -> hooks.ZoneMap:
        # Rebuilt only when the heartbeat brought a new context.
        if self._zones[0] is not context:
            self._zones = (context, hooks.zone_map(context.zones.values()))
        return self._zones[1]
