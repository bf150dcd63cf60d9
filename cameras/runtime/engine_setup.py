"""Build the vision engine for a camera from the database and settings, and keep it current.

The detector is loaded once per worker process (the engine's `get_detector` cache) and
shared by every camera the process runs; each camera gets its own `CrowdEngine` (its own
tracker and history). `ConfigWatcher` re-reads the runtime settings and the camera's
settings and geometry every few seconds and hands changes to the running engine without a restart.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

from analytics.engine import (
    BatchingDetector,
    CameraGeometry,
    CrowdEngine,
    Detector,
    DetectorConfig,
    EngineConfig,
    ExclusionSpec,
    LineSpec,
    ZoneSpec,
    get_detector,
)
from cameras.models import Camera
from cameras.runtime import conf
from core.models import RuntimeSettings
from core.runtime_settings import get_runtime_settings


def detector_config(rs: RuntimeSettings | None = None) -> DetectorConfig:
    rs = rs or get_runtime_settings()
    return DetectorConfig(
        model=settings.CROWDSAFE_DETECTOR_MODEL,
        device=settings.CROWDSAFE_DETECTOR_DEVICE,
        conf=rs.detector_confidence,
        iou=rs.detector_iou,
        imgsz=settings.CROWDSAFE_DETECTOR_IMGSZ,
        allow_download=settings.CROWDSAFE_DETECTOR_ALLOW_DOWNLOAD,
        half=settings.CROWDSAFE_DETECTOR_HALF,
    )


_BATCHERS: dict[int, BatchingDetector] = {}
_BATCHERS_LOCK = threading.Lock()


def shared_detector() -> Detector | BatchingDetector:
    """The process's detector (loaded on first use; raises ModelLoadError with a clear message).
    A process hosting several cameras (CROWDSAFE_CAMERAS_PER_PROCESS > 1) shares one that
    batches their frames."""
    detector = get_detector(detector_config())
    if conf.cameras_per_process() <= 1:
        return detector
    with _BATCHERS_LOCK:
        batcher = _BATCHERS.get(id(detector))
        if batcher is None:
            batcher = _BATCHERS[id(detector)] = BatchingDetector(detector)
        return batcher


def engine_config(rs: RuntimeSettings | None = None, camera: Camera | None = None) -> EngineConfig:
    """Weights and thresholds admins set at run time, and the camera's own detection settings
    (sliced inference, input size), on top of the engine defaults."""
    rs = rs or get_runtime_settings()
    per_camera: dict = {}
    if camera is not None:
        per_camera = {"tiling": camera.tiling_mode, "imgsz": camera.detector_imgsz}
    return EngineConfig(
        weight_density=rs.weight_density,
        weight_surge=rs.weight_surge,
        weight_velocity=rs.weight_velocity,
        boost_pressure=rs.boost_pressure,
        boost_coherence=rs.boost_coherence,
        density_caution_pm2=rs.density_caution,
        density_warning_pm2=rs.density_warning,
        density_critical_pm2=rs.density_critical,
        risk_caution=rs.risk_caution,
        risk_warning=rs.risk_warning,
        risk_critical=rs.risk_critical,
        stagnant_speed_mps=rs.stagnant_speed,
        detect_conf=rs.detector_confidence,
        detect_iou=rs.detector_iou,
        pressure_radius_m=rs.pressure_radius_m,
        surge_min_density_pm2=rs.surge_min_density,  # the live figure follows the surge alert
        tile_mirror=settings.CROWDSAFE_TILE_MIRROR,
        **per_camera,
    )


def camera_geometry(camera: Camera) -> CameraGeometry:
    """Area, capacity, calibration, zones, lines and exclusion areas of a camera (coordinates
    normalised)."""
    calibrated = bool(camera.calibration_image_points and camera.calibration_world_points)
    return CameraGeometry(
        area_m2=camera.area_m2,
        capacity=camera.capacity,
        calibration_image_points=[tuple(p) for p in camera.calibration_image_points] if calibrated else None,
        calibration_world_points=[tuple(p) for p in camera.calibration_world_points] if calibrated else None,
        zones=[
            ZoneSpec(
                id=z.pk,
                name=z.name,
                polygon=[tuple(p) for p in z.polygon],
                area_m2=z.area_m2,
                capacity=z.capacity,
                density_warning=z.density_warning,
                density_critical=z.density_critical,
            )
            for z in camera.zones.all()
        ],
        lines=[
            LineSpec(
                id=ln.pk, name=ln.name, p1=tuple(ln.points[0]), p2=tuple(ln.points[1]), in_side=ln.in_side
            )
            for ln in camera.lines.all()
        ],
        exclusions=[
            ExclusionSpec(id=e.pk, name=e.name, polygon=[tuple(p) for p in e.polygon])
            for e in camera.exclusions.all()
        ],
    )


def build_engine(camera: Camera, detector: Detector) -> CrowdEngine:
    return CrowdEngine(detector, engine_config(camera=camera), camera_geometry(camera))


class ConfigWatcher:
    """Cheap periodic check: push changed settings or geometry into the running engine."""

    def __init__(self, engine: CrowdEngine, camera: Camera, interval_s: float = 3.0) -> None:
        self.engine = engine
        self.camera = camera
        self.interval_s = interval_s
        self._next = time.monotonic() + interval_s
        self._config = engine.config
        self._geometry = engine.geometry

    def refresh(self, camera: Camera) -> None:
        """Call with a freshly loaded camera; applies changes once per interval."""
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.interval_s
        self.camera = camera
        config = engine_config(camera=camera)
        if config != self._config:
            self.engine.update_config(config)
            self._config = config
        geometry = camera_geometry(camera)
        if geometry != self._geometry:
            self.engine.update_geometry(geometry)  # CalibrationError: caller reports it
            self._geometry = geometry
