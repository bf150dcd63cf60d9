"""CrowdSafe vision engine: detection, tracking, crowd analytics, risk and rendering.

Plain Python on numpy, OpenCV, scikit-learn and Ultralytics; it never imports Django.
"""

from .batching import BatchingDetector
from .config import (
    CameraGeometry,
    DetectorConfig,
    EngineConfig,
    ExclusionSpec,
    LineSpec,
    ZoneSpec,
)
from .detector import Detections, Detector, ModelLoadError, get_detector, load_detector
from .engine import CrowdEngine
from .geometry import Calibration, CalibrationError, compute_homography
from .render import RenderOptions
from .results import (
    AnomalyResult,
    ClusterResult,
    CountQuality,
    FrameResult,
    LineResult,
    PersonResult,
    TilingState,
    TrackedBox,
    TrendResult,
    ZoneResult,
)
from .video import open_video_writer

__all__ = [
    "AnomalyResult",
    "BatchingDetector",
    "Calibration",
    "CalibrationError",
    "CameraGeometry",
    "ClusterResult",
    "CountQuality",
    "CrowdEngine",
    "Detections",
    "Detector",
    "DetectorConfig",
    "EngineConfig",
    "ExclusionSpec",
    "FrameResult",
    "LineResult",
    "LineSpec",
    "ModelLoadError",
    "PersonResult",
    "RenderOptions",
    "TilingState",
    "TrackedBox",
    "TrendResult",
    "ZoneResult",
    "ZoneSpec",
    "compute_homography",
    "get_detector",
    "load_detector",
    "open_video_writer",
]
