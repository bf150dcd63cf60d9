"""Plain configuration objects for the vision engine (no Django).

Defaults are the product defaults. The camera runtime builds these from settings and hands
new instances to ``CrowdEngine.update_config`` / ``update_geometry`` whenever they change,
so thresholds change without a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

DEFAULT_TRACKER_CONFIG = Path(__file__).resolve().parent / "trackers" / "botsort.yaml"

Point = tuple[float, float]


@dataclass(frozen=True)
class DetectorConfig:
    """How to load and run the person detector."""

    model: str = "yolo11s.pt"  # a path (.pt file or exported folder) or a bare model name
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:N"
    conf: float = 0.25
    iou: float = 0.5
    imgsz: int = 960  # fixed-size exports (e.g. the 640 OpenVINO model) ignore it
    half: bool = False  # fp16, only honoured on CUDA
    max_det: int = 1000  # boxes per image; reaching it marks the count as saturated
    # Ultralytics may only download weights when this is on, and then only within the timeout.
    allow_download: bool = False
    download_timeout_s: float = 60.0


@dataclass(frozen=True)
class EngineConfig:
    """Every weight and threshold of the analytics and the risk score.

    Units are in the names: ``_m`` metres, ``_s`` seconds, ``_mps`` m/s, ``_pm2`` people/m².
    """

    # --- detection post-filters (scale with the frame, not fixed pixels) ---
    min_box_area_frac: float = 1e-4  # box area / frame area (≈ 100 px² at 1280x720)
    max_box_aspect_ratio: float = 5.0  # max(w, h) / min(w, h)
    # Per-camera detector overrides (None: the detector's own conf / IoU / input size).
    detect_conf: float | None = None
    detect_iou: float | None = None
    imgsz: int | None = None
    # --- sliced inference: "off", "on" or "auto" (decided from what the camera sees) ---
    tiling: str = "auto"
    tile_overlap: float = 0.2  # share of a tile that overlaps its neighbour
    tile_min_person_px: float = 40.0  # the smallest expected person should reach this at the net
    tile_max: int = 12  # most tiles per frame (plus the full frame)
    tiling_recheck_s: float = 30.0  # auto re-decides this often (source time)
    # While tiling is in force, the frame and its tiles also go through the detector mirrored
    # (test-time augmentation, in the same batch): a small detector misses people at random
    # in one pass that the mirrored pass finds; the two passes' boxes merge like the tiles'.
    tile_mirror: bool = True
    # --- count quality ---
    quality_blur_min: float = 12.0  # variance of the Laplacian (downscaled grey) below: blurred
    quality_dark_max: float = 25.0  # mean grey level below: too dark to count
    quality_hold_max_s: float = 10.0  # longest span a held figure stays valid
    # --- tracking / kinematics ---
    tracker_config: str = str(DEFAULT_TRACKER_CONFIG)
    reid: bool = True  # ask for ReID; only used when the detector gives native features
    history_length: int = 60  # positions kept per track
    track_ttl_s: float = 3.0  # forget a track this long after it was last seen (source time)
    velocity_window_s: float = 0.5  # speed = displacement over about this span (damps jitter)
    # --- density (people per m²) and level of service ---
    density_caution_pm2: float = 2.0
    density_warning_pm2: float = 4.0
    density_critical_pm2: float = 6.0
    # Upper density bounds of Fruin levels of service A..E (F above the last one).
    los_bounds_pm2: tuple[float, float, float, float, float] = (0.8, 1.1, 2.0, 4.0, 5.0)
    # --- clusters, proximity, anomalies, coherence, pressure ---
    cluster_eps_m: float = 1.0
    cluster_min_samples: int = 2
    proximity_m: float = 0.6
    anomaly_zscore: float = 2.0
    anomaly_min_people: int = 3
    anomaly_speed_floor_mps: float = 0.15  # smallest spread used for the z-score (tracking noise)
    coherence_window_s: float = 2.0
    coherence_min_move_m: float = 0.2  # a person must move this far in the window to count
    # Crowd pressure after Helbing, Johansson & Al-Abideen (2007): Gaussian neighbourhood of
    # radius R, pressure = local density × local velocity variance (s⁻²); the risk term is
    # pressure / the turbulence onset they observed (~0.02 s⁻²), capped at 1.
    pressure_radius_m: float = 1.0
    pressure_min_density_pm2: float = 2.0  # looser than this, velocity differences are not pressure
    pressure_onset_s2: float = 0.02
    # --- surge: change of count / density over a window ---
    surge_window_s: float = 5.0
    surge_min_count: int = 5  # relative change is measured against at least this many people
    surge_rel_change_full: float = 1.0  # +100 % (a doubling) in the window = surge 1.0
    surge_density_rate_full_pm2s: float = 0.2  # p/m² per second giving surge 1.0
    surge_min_density_pm2: float = 0.5  # below it the surge figure reads 0 (as the surge alert)
    # --- stagnation: dense and slow ---
    stagnant_speed_mps: float = 0.2
    moving_speed_mps: float = 1.5  # at or above this the velocity term is 0
    stagnation_density_pm2: float = 4.0
    # --- trend (EMA per second of source time) and forecast ---
    ema_alpha: float = 0.3
    trend_interval_s: float = 1.0  # alpha applies per this much source time
    trend_beta: float = 0.3  # smoothing of the slope (Holt)
    forecast_horizon_s: float = 30.0
    trend_density_delta_pm2: float = 0.2  # forecast change that makes a "rising"/"falling" label
    trend_risk_delta: float = 0.05
    # --- risk ---
    weight_density: float = 0.4
    weight_surge: float = 0.3
    weight_velocity: float = 0.3
    boost_pressure: float = 0.6
    boost_coherence: float = 0.4
    boost_scale: float = 0.2  # the boost adds at most this much to the score
    risk_caution: float = 0.25
    risk_warning: float = 0.5
    risk_critical: float = 0.75
    # The density thresholds alone lift the score to the matching level (2 → CAUTION, ...).
    density_floor: bool = True
    # --- rendering ---
    sparkline_length: int = 60
    trail_length: int = 15

    def with_changes(self, **changes: object) -> EngineConfig:
        """Return a copy with some fields replaced (convenience for runtime settings)."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ZoneSpec:
    """A monitored polygon. Coordinates are normalised image coordinates (0..1)."""

    id: int | str
    name: str
    polygon: tuple[Point, ...] | list[Point]
    area_m2: float | None = None  # None: from the homography when calibrated, else estimated
    capacity: int | None = None
    density_warning: float | None = None
    density_critical: float | None = None


@dataclass(frozen=True)
class LineSpec:
    """A counting line from p1 to p2 (normalised image coordinates).

    ``in_side`` is the side of the directed line p1→p2 that counts as "in", as seen by someone
    standing on p1 and looking at p2 in the image (y grows downwards).
    """

    id: int | str
    name: str
    p1: Point
    p2: Point
    in_side: Literal["left", "right"] = "left"


@dataclass(frozen=True)
class ExclusionSpec:
    """An area of the image whose detections are ignored (a poster, a screen, a mannequin).

    A detection is dropped when its foot point (bottom centre of the box, the point zones
    use) falls inside: a printed figure stands on its poster, while a real person walking in
    front of it has their feet on the floor below, outside a mask drawn over the poster.
    Coordinates are normalised image coordinates (0..1).
    """

    id: int | str
    name: str
    polygon: tuple[Point, ...] | list[Point]


@dataclass(frozen=True)
class CameraGeometry:
    """What the engine knows about one camera's ground plane.

    ``calibration_image_points`` are normalised (0..1) or pixel coordinates (then give
    ``calibration_image_size``); ``calibration_world_points`` are metres on the ground.
    """

    area_m2: float = 100.0
    capacity: int | None = None
    calibration_image_points: tuple[Point, ...] | list[Point] | None = None
    calibration_world_points: tuple[Point, ...] | list[Point] | None = None
    calibration_image_size: tuple[int, int] | None = None  # (w, h) when image points are px
    zones: list[ZoneSpec] = field(default_factory=list)
    lines: list[LineSpec] = field(default_factory=list)
    # Detections with their foot point in one of these are dropped before tracking.
    exclusions: list[ExclusionSpec] = field(default_factory=list)
