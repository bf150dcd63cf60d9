"""Calibration homography and polygon helpers."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.engine import Calibration, CalibrationError, CameraGeometry, compute_homography
from analytics.engine.geometry import GroundMapper, points_in_polygon, polygon_area

IMG = [(0.1, 0.2), (0.9, 0.2), (1.0, 0.95), (0.0, 0.95)]  # a trapezoid: perspective
WORLD = [(0, 0), (8, 0), (8, 12), (0, 12)]


def test_homography_maps_the_points_exactly():
    H, err = compute_homography(IMG, WORLD)
    assert H.shape == (3, 3) and err < 1e-6
    cal = Calibration(H, err)
    pts = cal.to_world(np.array([[100, 200], [1000, 950]]), (1000, 1000))
    assert pts == pytest.approx(np.array([[0, 0], [8, 12]]), abs=1e-6)


def test_pixel_points_need_the_image_size_and_give_the_same_homography():
    px = [(x * 1920, y * 1080) for x, y in IMG]
    with pytest.raises(CalibrationError, match="image_size"):
        compute_homography(px, WORLD)
    H_px, _ = compute_homography(px, WORLD, image_size=(1920, 1080))
    H_n, _ = compute_homography(IMG, WORLD)
    assert H_px / H_px[2, 2] == pytest.approx(H_n / H_n[2, 2], abs=1e-6)


def test_reprojection_error_is_reported_in_metres():
    img = IMG + [(0.5, 0.5)]
    world = WORLD + [(4.0, 3.0)]  # inconsistent fifth point
    _, err = compute_homography(img, world)
    assert 0.05 < err < 5


@pytest.mark.parametrize(
    ("img", "world", "match"),
    [
        (IMG[:3], WORLD[:3], "at least 4"),
        (IMG, WORLD[:3], "differ"),
        ([(0, 0), (0.5, 0.5), (1, 1), (0.25, 0.25)], WORLD, "collinear"),
    ],
)
def test_bad_calibrations_are_rejected(img, world, match):
    with pytest.raises(CalibrationError, match=match):
        compute_homography(img, world)


def test_zone_area_from_homography_and_fallback():
    geo = CameraGeometry(area_m2=50.0, calibration_image_points=IMG, calibration_world_points=WORLD)
    mapper = GroundMapper(geo, Calibration.from_geometry(geo))
    assert mapper.zone_area_m2(np.array(IMG), None) == pytest.approx(96.0)
    assert mapper.zone_area_m2(np.array(IMG), 10.0) == 10.0
    uncal = GroundMapper(CameraGeometry(area_m2=50.0), None)
    assert uncal.zone_area_m2(np.array([(0, 0), (0.5, 0), (0.5, 1), (0, 1)]), None) == 25.0
    assert uncal.metres_per_pixel((100, 50)) == pytest.approx(0.1)  # sqrt(50 m² / 5000 px²)


def test_points_in_polygon_and_area():
    square = np.array([(0, 0), (10, 0), (10, 10), (0, 10)], float)
    pts = np.array([(5, 5), (11, 5), (0.1, 9.9), (-1, -1)], float)
    assert points_in_polygon(pts, square).tolist() == [True, False, True, False]
    assert polygon_area(square) == 100.0
    assert points_in_polygon(np.zeros((0, 2)), square).shape == (0,)
