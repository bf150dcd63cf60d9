"""`on_frame` runs on every frame of every camera: it must stay cheap (generous bounds, 2 shared cores)."""

from __future__ import annotations

import time

from alerts.hooks import on_frame
from alerts.models import Alert
from tests.alerts.frames import jpeg, make_frame, timeline, zone


def _mean_ms(camera, frames, snapshot) -> float:
    started = time.perf_counter()
    for frame in frames:
        on_frame(camera, frame, snapshot)
    return (time.perf_counter() - started) * 1000 / len(frames)


def test_on_frame_is_cheap_when_quiet_and_while_an_alert_holds(camera):
    snapshot = jpeg()
    zones = [zone(i, f"Z{i}", 1.0) for i in range(1, 4)]
    quiet = [make_frame(ts, 1.0, zones=zones) for ts in timeline(0, 30)]
    busy = [make_frame(ts, 4.5, risk_level="CAUTION", zones=zones) for ts in timeline(30, 60)]
    on_frame(camera, quiet[0], snapshot)  # warm the caches
    quiet_ms = _mean_ms(camera, quiet[1:], snapshot)
    busy_ms = _mean_ms(camera, busy, snapshot)
    print(f"\non_frame mean: quiet {quiet_ms:.2f} ms, alert active {busy_ms:.2f} ms per frame")
    assert Alert.objects.count() == 1
    assert quiet_ms < 10 and busy_ms < 20
