"""Typed engine output. ``FrameResult.to_dict()`` gives the JSON the Django side stores/pushes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

RISK_LEVELS = ("SAFE", "CAUTION", "WARNING", "CRITICAL")


def _r(value: float | None, nd: int = 3) -> float | None:
    """Round for JSON; NaN/inf become None so the payload stays valid JSON."""
    if value is None:
        return None
    v = float(value)
    if not math.isfinite(v):
        return None
    return round(v, nd)


def _pt(p: tuple[float, float] | None, nd: int = 1) -> list[float | None] | None:
    return None if p is None else [_r(p[0], nd), _r(p[1], nd)]


@dataclass(slots=True)
class TrackedBox:
    """One person box handed to ``CrowdEngine.analyse``: pixels, optional tracker ID."""

    xyxy: tuple[float, float, float, float]
    track_id: int | None = None  # None: detected but not (yet) tracked; never faked
    confidence: float = 1.0


@dataclass(slots=True)
class PersonResult:
    track_id: int | None
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in px
    confidence: float
    foot: tuple[float, float]  # bottom centre of the box, px
    position_m: tuple[float, float]  # ground position, metres
    speed: float | None  # m/s; None until the track has two timed positions
    direction: tuple[float, float]  # unit vector in the image (0, 0) when not moving
    anomaly: bool = False
    state: str = "normal"  # normal | moving | fast | anomaly | untracked

    def to_dict(self) -> dict[str, Any]:
        return {
            "track_id": self.track_id,
            "box": [round(float(v), 1) for v in self.box],
            "confidence": _r(self.confidence, 3),
            "foot": _pt(self.foot),
            "position_m": _pt(self.position_m, 2),
            "speed": _r(self.speed, 2),
            "direction": _pt(self.direction, 3),
            "anomaly": self.anomaly,
            "state": self.state,
        }


@dataclass(slots=True)
class ClusterResult:
    id: int
    size: int
    track_ids: list[int | None]
    centroid: tuple[float, float]  # px
    hull: list[tuple[int, int]]  # convex hull of the members' foot points, px
    area_m2: float  # ground area of the hull (0 for 2 people)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "size": self.size,
            "track_ids": self.track_ids,
            "centroid": _pt(self.centroid),
            "hull": [[int(x), int(y)] for x, y in self.hull],
            "area_m2": _r(self.area_m2, 2),
        }


@dataclass(slots=True)
class AnomalyResult:
    track_id: int | None
    speed: float  # m/s
    zscore: float  # robust z-score (median/MAD)
    kind: str  # "fast" | "slow"

    def to_dict(self) -> dict[str, Any]:
        return {
            "track_id": self.track_id,
            "speed": _r(self.speed, 2),
            "zscore": _r(self.zscore, 2),
            "kind": self.kind,
        }


@dataclass(slots=True)
class TrendResult:
    label: str  # rising | stable | falling
    ema: float
    slope_per_s: float
    forecast: float  # expected value horizon_s ahead
    horizon_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "ema": _r(self.ema, 4),
            "slope_per_s": _r(self.slope_per_s, 5),
            "forecast": _r(self.forecast, 4),
            "horizon_s": _r(self.horizon_s, 1),
        }


@dataclass(slots=True)
class ZoneResult:
    id: int | str
    name: str
    count: int
    area_m2: float
    density: float  # people per m²
    level_of_service: str
    density_level: str
    risk_score: float
    risk_level: str
    capacity: int | None = None
    capacity_utilization: float | None = None  # %
    avg_speed: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "count": self.count,
            "area_m2": _r(self.area_m2, 2),
            "density": _r(self.density, 3),
            "level_of_service": self.level_of_service,
            "density_level": self.density_level,
            "risk_score": _r(self.risk_score, 4),
            "risk_level": self.risk_level,
            "capacity": self.capacity,
            "capacity_utilization": _r(self.capacity_utilization, 1),
            "avg_speed": _r(self.avg_speed, 3),
        }


@dataclass(slots=True)
class LineResult:
    id: int | str
    name: str
    in_total: int
    out_total: int
    in_delta: int  # crossings in this frame
    out_delta: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "in_total": self.in_total,
            "out_total": self.out_total,
            "in_delta": self.in_delta,
            "out_delta": self.out_delta,
        }


@dataclass
class RenderData:
    """Arrays the renderer needs; not serialised."""

    boxes: np.ndarray  # (N, 4) px
    track_ids: np.ndarray  # (N,) int, -1 for untracked
    speeds: np.ndarray  # (N,) m/s, NaN unknown
    states: list[str]
    feet: np.ndarray  # (N, 2) px
    directions: np.ndarray  # (N, 2) unit, image
    trails: list[np.ndarray]  # per person (k, 2) px, oldest first
    pair_index: np.ndarray  # (K, 2) person indices of proximity pairs
    pair_distance_m: np.ndarray  # (K,)
    count_history: np.ndarray
    density_history: np.ndarray
    risk_history: np.ndarray
    zone_polygons_px: list[np.ndarray] = field(default_factory=list)
    line_points_px: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    line_arrows_px: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    exclusion_polygons_px: list[np.ndarray] = field(default_factory=list)  # ignored areas


QUALITY_LEVELS = ("ok", "degraded", "unreliable")
QUALITY_REASONS = (
    "saturated",  # the detector hit its box limit or boxes pack the frame edge to edge
    "small_boxes",  # many people too small for the detector's input size
    "overlap",  # people overlap heavily: occluded ones are missed
    "blur",  # motion blur (camera pan, shake)
    "dark",  # too dark to see people
    "obstructed",  # lens covered or the view blocked
    "camera_moved",  # the view changed: zones and calibration may no longer fit
)


@dataclass
class CountQuality:
    """How far the count of a frame can be trusted, and why not."""

    level: str = "ok"  # "ok" | "degraded" | "unreliable"
    reasons: list[str] = field(default_factory=list)
    undercount_factor: float | None = None  # ≥ 1: true count ≈ count × factor; None: unknown
    estimated_count: int | None = None  # round(count × undercount_factor) when known
    held: bool = False  # frame unusable: count, density and risk are the last good frame's

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "reasons": list(self.reasons),
            "undercount_factor": _r(self.undercount_factor, 2),
            "estimated_count": self.estimated_count,
            "held": self.held,
        }


@dataclass
class TilingState:
    """Sliced inference on a frame: the configured mode and what was done."""

    mode: str = "off"  # configured: "off" | "on" | "auto"
    active: bool = False  # tiles were used on this frame
    grid: tuple[int, int] = (1, 1)  # (columns, rows)
    reason: str = ""  # why auto chose it
    mirrored: bool = False  # the frame and tiles also went through the detector mirrored

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "active": self.active,
            "grid": list(self.grid),
            "reason": self.reason,
            "mirrored": self.mirrored,
        }


@dataclass
class FrameResult:
    """Everything the engine knows about one frame of one camera."""

    timestamp: float  # seconds, source clock
    frame_index: int
    frame_width: int
    frame_height: int
    calibrated: bool
    count: int
    tracked_count: int
    density: float  # people per m² over the monitored area
    level_of_service: str  # Fruin A..F
    density_level: str  # SAFE..CRITICAL from the density thresholds alone
    avg_speed: float  # m/s over tracks with a known speed
    max_speed: float
    surge: float  # 0..1
    count_rate: float  # people per second over the surge window
    density_rate: float  # p/m² per second over the surge window
    stagnation: bool
    stagnation_score: float  # 0..1
    flow_in: int  # line crossings in this frame, all lines
    flow_out: int
    risk_score: float  # 0..1
    risk_level: str
    risk_components: dict[str, float]
    num_clusters: int
    clusters: list[ClusterResult]
    proximity_pairs: int
    flow_coherence: float  # 0..1
    pressure: float  # s⁻²: local density × local velocity variance (Helbing et al. 2007)
    anomalies: list[AnomalyResult]
    density_trend: TrendResult
    risk_trend: TrendResult
    capacity_utilization: float | None  # % of camera capacity
    zones: list[ZoneResult]
    lines: list[LineResult]
    persons: list[PersonResult]
    reid: bool  # whether the tracker used appearance features
    metres_per_pixel: float | None  # uncalibrated approximation; None when calibrated
    timings_ms: dict[str, float]
    render_data: RenderData | None = field(default=None, repr=False)
    count_quality: CountQuality = field(default_factory=CountQuality)
    tiling: TilingState = field(default_factory=TilingState)
    imgsz: int = 0  # the detector's input size in force (0: no detector)
    imgsz_note: str = ""  # e.g. a fixed-size export that cannot honour the configured size

    @property
    def anomaly_count(self) -> int:
        return len(self.anomalies)

    def to_dict(self, include_persons: bool = True) -> dict[str, Any]:
        """JSON-serialisable dict (floats rounded); ``render_data`` is left out."""
        d: dict[str, Any] = {
            "timestamp": _r(self.timestamp, 3),
            "frame_index": self.frame_index,
            "frame_width": self.frame_width,
            "frame_height": self.frame_height,
            "calibrated": self.calibrated,
            "metres_per_pixel": _r(self.metres_per_pixel, 5),
            "reid": self.reid,
            "count": self.count,
            "tracked_count": self.tracked_count,
            "density": _r(self.density, 3),
            "level_of_service": self.level_of_service,
            "density_level": self.density_level,
            "avg_speed": _r(self.avg_speed, 3),
            "max_speed": _r(self.max_speed, 3),
            "surge": _r(self.surge, 4),
            "count_rate": _r(self.count_rate, 4),
            "density_rate": _r(self.density_rate, 5),
            "stagnation": self.stagnation,
            "stagnation_score": _r(self.stagnation_score, 4),
            "flow_in": self.flow_in,
            "flow_out": self.flow_out,
            "risk_score": _r(self.risk_score, 4),
            "risk_level": self.risk_level,
            "risk_components": {k: _r(v, 4) for k, v in self.risk_components.items()},
            "num_clusters": self.num_clusters,
            "clusters": [c.to_dict() for c in self.clusters],
            "proximity_pairs": self.proximity_pairs,
            "flow_coherence": _r(self.flow_coherence, 4),
            "pressure": _r(self.pressure, 5),
            "anomaly_count": self.anomaly_count,
            "anomalies": [a.to_dict() for a in self.anomalies],
            "density_trend": self.density_trend.to_dict(),
            "risk_trend": self.risk_trend.to_dict(),
            "capacity_utilization": _r(self.capacity_utilization, 1),
            "zones": [z.to_dict() for z in self.zones],
            "lines": [ln.to_dict() for ln in self.lines],
            "timings_ms": {k: _r(v, 2) for k, v in self.timings_ms.items()},
            "count_quality": self.count_quality.to_dict(),
            "tiling": self.tiling.to_dict(),
            "imgsz": self.imgsz,
            "imgsz_note": self.imgsz_note,
        }
        if include_persons:
            d["persons"] = [p.to_dict() for p in self.persons]
        return d
