"""Fixtures for the vision engine tests (no database, no Django needed)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from analytics.engine import CameraGeometry, CrowdEngine, DetectorConfig, EngineConfig

REPO = Path(__file__).resolve().parents[2]
VTEST_AVI = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
MODEL_DIRNAME = "yolo11n_int8_openvino_model"

# Synthetic camera: a 1000x1000 px frame looking straight down on 20 m x 20 m (50 px/m).
FRAME = (1000, 1000)
PX_PER_M = 50.0


def find_test_model() -> Path | None:
    env = os.environ.get("CROWDSAFE_TEST_MODEL")
    if env:
        return Path(env)
    for cand in (
        REPO / "models" / MODEL_DIRNAME,
        REPO.parent / "shared" / "models" / MODEL_DIRNAME,
    ):
        if cand.exists():
            return cand
    return None


@pytest.fixture(scope="session")
def model_path() -> Path:
    path = find_test_model()
    if path is None or not path.exists():
        pytest.skip(
            "NO DETECTOR MODEL FOR TESTS: set CROWDSAFE_TEST_MODEL or put "
            f"{MODEL_DIRNAME}/ in {REPO / 'models'} or {REPO.parent / 'shared' / 'models'}"
        )
    return path


@pytest.fixture(scope="session")
def detector(model_path: Path):
    from analytics.engine import get_detector

    return get_detector(DetectorConfig(model=str(model_path), device="cpu", imgsz=640))


@pytest.fixture(scope="session")
def vtest_path() -> Path:
    if not VTEST_AVI.exists():
        pytest.skip(f"NO TEST VIDEO: {VTEST_AVI} is missing (Debian package opencv-doc)")
    return VTEST_AVI


def calibrated_geometry(**kw) -> CameraGeometry:
    """Geometry whose homography maps the synthetic frame onto 20 m x 20 m exactly."""
    kw.setdefault("area_m2", 400.0)
    return CameraGeometry(
        calibration_image_points=[(0, 0), (1, 0), (1, 1), (0, 1)],
        calibration_world_points=[(0, 0), (20, 0), (20, 20), (0, 20)],
        **kw,
    )


def boxes_at(world_xy: np.ndarray) -> np.ndarray:
    """Person boxes (x1, y1, x2, y2) px whose foot points sit at the given metres."""
    feet = np.asarray(world_xy, dtype=float).reshape(-1, 2) * PX_PER_M
    return np.stack([feet[:, 0] - 10, feet[:, 1] - 40, feet[:, 0] + 10, feet[:, 1]], axis=1)


def run_scene(
    engine: CrowdEngine,
    positions_at,  # callable t -> (N, 2) metres
    ids: np.ndarray,
    duration_s: float,
    fps: float = 10.0,
    t0: float = 0.0,
):
    """Feed a synthetic scene to ``engine.analyse``; returns the results."""
    results = []
    n_frames = int(round(duration_s * fps))
    for k in range(n_frames + 1):
        t = t0 + k / fps
        results.append(engine.analyse((boxes_at(positions_at(t)), ids, None), t, FRAME))
    return results


@pytest.fixture
def engine() -> CrowdEngine:
    return CrowdEngine(None, EngineConfig(), calibrated_geometry())
