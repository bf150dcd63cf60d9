"""Real detection and tracking with the shared model and real images/video."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from analytics.engine import (
    CameraGeometry,
    CrowdEngine,
    Detections,
    DetectorConfig,
    EngineConfig,
    ModelLoadError,
    load_detector,
)
from analytics.engine.engine import filter_boxes
from analytics.engine.tracking import load_tracker_args


def _bus() -> np.ndarray:
    from ultralytics.utils import ASSETS

    path = Path(ASSETS) / "bus.jpg"
    if not path.exists():
        pytest.skip(f"NO TEST IMAGE: {path} is missing from the Ultralytics wheel")
    img = cv2.imread(str(path))
    assert img is not None
    return img


def test_bus_jpg_has_at_least_three_persons(detector):
    dets = detector.detect(_bus())
    assert len(dets) >= 3
    assert dets.xyxy.shape == (len(dets), 4) and dets.conf.min() >= 0.25
    assert detector.backend == "openvino" and detector.native_features is False


def test_missing_model_fails_fast_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    start = time.monotonic()
    with pytest.raises(ModelLoadError) as err:
        load_detector(DetectorConfig(model="yolo11s.pt"))
    assert time.monotonic() - start < 5
    msg = str(err.value)
    assert "yolo11s.pt" in msg and "models/" in msg and "CROWDSAFE_DETECTOR_MODEL" in msg
    with pytest.raises(ModelLoadError, match="nope/missing.pt"):
        load_detector(DetectorConfig(model=str(tmp_path / "nope" / "missing.pt")))


def test_broken_model_file_gives_model_load_error(tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(ModelLoadError) as err:
        load_detector(DetectorConfig(model=str(bad)))
    assert str(bad) in str(err.value)


def test_pt_model_gives_native_reid_features(tmp_path):
    """A .pt checkpoint (random weights, built from Ultralytics' yaml: no download) exposes
    the Detect head inputs as per-box features, and the tracker turns ReID on."""
    from ultralytics import YOLO

    pt = tmp_path / "tiny.pt"
    YOLO("yolo11n.yaml", task="detect").save(str(pt))
    det = load_detector(DetectorConfig(model=str(pt), device="cpu", imgsz=320))
    assert det.backend == "pytorch" and det.native_features is True
    dets = det.detect(_bus(), conf=0.0001)
    assert len(dets) > 0
    assert dets.feats is not None and dets.feats.shape[0] == len(dets)
    engine = CrowdEngine(det, EngineConfig(detect_conf=0.0001), CameraGeometry())
    assert engine.reid is True
    assert engine.process(_bus(), 0.0).reid is True


def test_tracker_yaml_is_ours_with_native_reid():
    args = load_tracker_args(EngineConfig().tracker_config, with_reid=True)
    assert args.tracker_type == "botsort" and args.with_reid is True and args.model == "auto"
    assert load_tracker_args(EngineConfig().tracker_config, with_reid=False).with_reid is False


def test_box_filters_scale_with_frame_size():
    boxes = np.array([[50, 50, 60, 60], [50, 50, 60, 110], [50, 50, 150, 250]], float)  # clear of the edges
    small = filter_boxes(boxes, (640, 360), 1e-4, 5.0)  # 23 px² minimum
    assert small.tolist() == [True, False, True]
    big = filter_boxes(boxes, (3840, 2160), 1e-4, 5.0)  # 829 px² minimum
    assert big.tolist() == [False, False, True]


def test_vtest_tracks_keep_ids_and_counts_are_plausible(detector, vtest_path):
    engine = CrowdEngine(detector, EngineConfig(), CameraGeometry(area_m2=150.0))
    cap = cv2.VideoCapture(str(vtest_path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
    seen: Counter[int] = Counter()
    counts = []
    for i in range(80):
        ok, frame = cap.read()
        assert ok
        r = engine.process(frame, i / fps)
        counts.append(r.count)
        seen.update(p.track_id for p in r.persons if p.track_id is not None)
        assert all(p.track_id is None or p.track_id > 0 for p in r.persons)
        assert len({p.track_id for p in r.persons if p.track_id}) == r.tracked_count
    cap.release()
    assert r.reid is False  # OpenVINO: no native features, ReID off rather than a download
    assert max(seen.values()) >= 50, seen.most_common(5)
    assert 1 <= np.median(counts) <= 25 and max(counts) <= 40
    assert r.avg_speed < 3.0  # pedestrians


def test_two_cameras_sharing_a_detector_keep_separate_tracks(detector, vtest_path):
    cap = cv2.VideoCapture(str(vtest_path))
    frames = [cap.read()[1] for _ in range(12)]
    cap.release()
    a = CrowdEngine(detector, EngineConfig(), CameraGeometry())
    b = CrowdEngine(detector, EngineConfig(), CameraGeometry())
    for i, f in enumerate(frames):
        ra = a.process(f, i * 0.1)
    rb = b.process(frames[0], 0.0)  # a new camera starts at ID 1, untouched by camera a
    ids_a = {p.track_id for p in ra.persons if p.track_id}
    ids_b = {p.track_id for p in rb.persons if p.track_id}
    assert ids_b and min(ids_b) == 1
    assert a.frame_index == 12 and b.frame_index == 1 and ids_a
    a.reset()
    ra = a.process(frames[0], 0.0)
    assert min(p.track_id for p in ra.persons if p.track_id) == 1


def test_detections_subset_keeps_features_aligned():
    d = Detections(
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.array([0.9, 0.5, 0.3], np.float32),
        np.eye(3, dtype=np.float32),
    )
    s = d.subset(np.array([True, False, True]))
    assert len(s) == 2 and s.feats is not None and s.feats.tolist() == [[1, 0, 0], [0, 0, 1]]
