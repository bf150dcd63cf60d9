"""Exclusion areas: detections whose foot point stands in one are dropped before tracking, and
computed zone areas leave them out. The real model on Ultralytics' bus.jpg."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.engine import CameraGeometry, CrowdEngine, EngineConfig, ExclusionSpec, ZoneSpec
from analytics.engine.geometry import Calibration, ExclusionMask, GroundMapper
from tests.engine.conftest import FRAME, calibrated_geometry
from tests.engine.test_detection import _bus


def _square(cx: float, cy: float, half: float) -> list[tuple[float, float]]:
    return [(cx - half, cy - half), (cx + half, cy - half), (cx + half, cy + half), (cx - half, cy + half)]


def _feet(result, size) -> np.ndarray:
    w, h = size
    return np.array([((p.box[0] + p.box[2]) / 2 / w, p.box[3] / h) for p in result.persons])


def test_a_mask_over_one_person_removes_exactly_that_detection(detector):
    img = _bus()
    size = (img.shape[1], img.shape[0])
    plain = CrowdEngine(detector, EngineConfig(tiling="off")).process(img, 0.0)
    assert plain.count >= 3
    feet = _feet(plain, size)
    # The person whose foot point is farthest from everyone else's: a mask around it alone.
    gaps = np.linalg.norm(feet[:, None] - feet[None], axis=2) + np.eye(len(feet)) * 9
    target = int(gaps.min(axis=1).argmax())
    half = min(0.05, gaps[target].min() / 3)
    mask = ExclusionSpec(id=1, name="poster", polygon=_square(*feet[target], half))

    masked = CrowdEngine(detector, EngineConfig(tiling="off"), CameraGeometry(exclusions=[mask]))
    result = masked.process(img, 0.0)

    assert result.count == plain.count - 1
    kept = [p.box for p in result.persons]
    expected = [p.box for i, p in enumerate(plain.persons) if i != target]
    assert np.allclose(sorted(kept), sorted(expected), atol=1.0)
    assert all(np.linalg.norm(f - feet[target]) > half for f in _feet(result, size))


def test_a_mask_added_to_a_running_engine_applies_from_the_next_frame(detector):
    img = _bus()
    engine = CrowdEngine(detector, EngineConfig(tiling="off"))
    before = engine.process(img, 0.0).count
    # One mask over the whole lower half of the image: every foot point there is ignored.
    engine.update_geometry(
        CameraGeometry(exclusions=[ExclusionSpec(1, "floor", [(0, 0.5), (1, 0.5), (1, 1), (0, 1)])])
    )
    after = engine.process(img, 0.1)
    assert before >= 3 and after.count == 0 and after.persons == []


def test_analyse_drops_boxes_standing_in_a_mask_and_keeps_the_rest():
    # Foot points at (0.25, 0.5) and (0.75, 0.5); the mask covers the left one only.
    boxes = np.array([[200, 300, 300, 500], [700, 300, 800, 500]], dtype=np.float64)
    geo = calibrated_geometry(exclusions=[ExclusionSpec(1, "screen", _square(0.25, 0.5, 0.05))])
    result = CrowdEngine(None, EngineConfig(), geo).analyse((boxes, np.array([1, 2]), None), 0.0, FRAME)
    assert result.count == 1 and result.persons[0].track_id == 2


def test_foot_point_decides_not_the_box():
    # A mask over the upper body of a box (a screen behind a person's head): the person stays.
    mask = ExclusionMask([ExclusionSpec(1, "screen", [(0.1, 0.1), (0.5, 0.1), (0.5, 0.4), (0.1, 0.4)])])
    boxes = np.array([[200, 150, 300, 600], [200, 150, 300, 350]], dtype=np.float64)
    assert mask.keep(boxes, FRAME).tolist() == [True, False]


@pytest.mark.parametrize("calibrated", [False, True])
def test_computed_zone_area_leaves_out_excluded_parts(calibrated):
    zone = [(0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (0.0, 0.5)]  # a quarter of the frame
    # Half inside the zone (0.25 x 0.1 of it), half outside: only the inside half is removed.
    cut = ExclusionSpec(1, "stage", [(0.25, 0.2), (0.75, 0.2), (0.75, 0.3), (0.25, 0.3)])
    # A hole strictly inside the zone: the area of a polygon with a hole.
    hole = ExclusionSpec(2, "pillar", _square(0.1, 0.1, 0.05))
    make = calibrated_geometry if calibrated else CameraGeometry
    plain = make(area_m2=400.0)
    cut_geo = make(area_m2=400.0, exclusions=[cut, hole])
    full = GroundMapper(plain, Calibration.from_geometry(plain)).zone_area_m2(np.array(zone), None)
    net = GroundMapper(cut_geo, Calibration.from_geometry(cut_geo)).zone_area_m2(np.array(zone), None)
    assert full == pytest.approx(100.0)  # 20 m x 20 m ground, a quarter of it
    assert net == pytest.approx(100.0 * (0.25 - 0.025 - 0.01) / 0.25)
    # An explicit area is the admin's own figure: kept as given.
    assert GroundMapper(cut_geo, None).zone_area_m2(np.array(zone), 42.0) == 42.0


def test_zone_density_uses_the_net_area():
    zone = ZoneSpec(id=1, name="z", polygon=[(0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (0.0, 0.5)])
    cut = ExclusionSpec(1, "stage", [(0.0, 0.0), (0.5, 0.0), (0.5, 0.25), (0.0, 0.25)])
    geo = calibrated_geometry(zones=[zone], exclusions=[cut])
    boxes = np.array([[150, 300, 250, 400]], dtype=np.float64)  # foot (0.2, 0.4): in the zone
    r = CrowdEngine(None, EngineConfig(), geo).analyse((boxes, np.array([1]), None), 0.0, FRAME)
    assert r.zones[0].count == 1 and r.zones[0].area_m2 == pytest.approx(50.0)
    assert r.zones[0].density == pytest.approx(1 / 50.0)


def test_the_annotated_frame_shows_the_excluded_area_greyed():
    # An operator must see why nobody is counted there: the area is shaded and outlined.
    screen = ExclusionSpec(1, "screen", [(0.6, 0.6), (0.9, 0.6), (0.9, 0.9), (0.6, 0.9)])
    geo = calibrated_geometry(exclusions=[screen])
    engine = CrowdEngine(None, EngineConfig(), geo)
    result = engine.analyse((np.zeros((0, 4)), np.zeros(0, np.int64), None), 0.0, FRAME)
    frame = np.full((FRAME[1], FRAME[0], 3), 255, np.uint8)
    out = engine.render(frame, result)
    inside, outside = out[700:850, 700:850], out[420:480, 420:480]
    assert inside.mean() < 220 and np.ptp(inside.reshape(-1, 3).mean(axis=1)) < 40  # greyed evenly
    assert (outside == 255).all()  # nothing drawn beside it
    bare = CrowdEngine(None, EngineConfig(), calibrated_geometry())
    plain = bare.render(frame, bare.analyse((np.zeros((0, 4)), np.zeros(0, np.int64), None), 0.0, FRAME))
    assert (plain[700:850, 700:850] == 255).all()
