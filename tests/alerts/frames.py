"""Engine results over time for the alert scenarios: real `FrameResult` objects, built directly.

Levels follow the engine's defaults unless given: density < 2 SAFE, < 4 CAUTION, < 6 WARNING,
else CRITICAL (the engine's density floor lifts the risk level to the density level).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import cv2
import numpy as np

from analytics.engine import FrameResult, TrendResult, ZoneResult


def density_level(density: float) -> str:
    for limit, level in ((2.0, "SAFE"), (4.0, "CAUTION"), (6.0, "WARNING")):
        if density < limit:
            return level
    return "CRITICAL"


RISK_FOR_LEVEL = {"SAFE": 0.1, "CAUTION": 0.3, "WARNING": 0.6, "CRITICAL": 0.85}


def zone(zone_id: int, name: str, density: float, *, risk_level: str | None = None) -> ZoneResult:
    level = risk_level or density_level(density)
    return ZoneResult(
        id=zone_id,
        name=name,
        count=int(density * 25),
        area_m2=25.0,
        density=density,
        level_of_service="C",
        density_level=density_level(density),
        risk_score=RISK_FOR_LEVEL[level],
        risk_level=level,
        avg_speed=0.5,
    )


def make_frame(
    ts: float,
    density: float = 1.0,
    *,
    risk_level: str | None = None,
    surge: float = 0.0,
    stagnation: bool = False,
    avg_speed: float = 0.8,
    zones: list[ZoneResult] | None = None,
    area_m2: float = 100.0,
) -> FrameResult:
    level = risk_level or density_level(density)
    trend = TrendResult(label="stable", ema=density, slope_per_s=0.0, forecast=density, horizon_s=30.0)
    return FrameResult(
        timestamp=ts,
        frame_index=int(round(ts * 10)),
        frame_width=640,
        frame_height=360,
        calibrated=False,
        count=int(round(density * area_m2)),
        tracked_count=int(round(density * area_m2)),
        density=density,
        level_of_service="C",
        density_level=density_level(density),
        avg_speed=avg_speed,
        max_speed=avg_speed * 2,
        surge=surge,
        count_rate=surge * 10,
        density_rate=surge * 0.1,
        stagnation=stagnation,
        stagnation_score=1.0 if stagnation else 0.0,
        flow_in=0,
        flow_out=0,
        risk_score=RISK_FOR_LEVEL[level],
        risk_level=level,
        risk_components={"density": 0.5, "surge": surge, "velocity": 0.2},
        num_clusters=1,
        clusters=[],
        proximity_pairs=3,
        flow_coherence=0.42,
        pressure=0.37,
        anomalies=[],
        density_trend=trend,
        risk_trend=trend,
        capacity_utilization=None,
        zones=zones or [],
        lines=[],
        persons=[],
        reid=False,
        metres_per_pixel=0.05,
        timings_ms={},
    )


def jpeg(label: str = "frame") -> bytes:
    """A real JPEG standing in for the runner's annotated frame."""
    image = np.full((90, 160, 3), 40, np.uint8)
    cv2.putText(image, label[:12], (5, 50), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return buf.tobytes()


def timeline(start: float, end: float, fps: float = 10.0) -> Iterator[float]:
    """Video timestamps start <= t < end at `fps`."""
    n = int(round((end - start) * fps))
    for i in range(n):
        yield round(start + i / fps, 6)


def feed(on_frame: Callable, camera, start: float, end: float, fps: float = 10.0, **frame_kw) -> None:
    """Call `on_frame` for every frame of a stretch of video with constant figures."""
    snapshot = jpeg(f"{frame_kw.get('density', 1.0)}")
    for ts in timeline(start, end, fps):
        on_frame(camera, make_frame(ts, **frame_kw), snapshot)
