"""Image ↔ ground-plane geometry: calibration homography, metres per pixel, polygons.

The homography maps *normalised* image coordinates (x/w, y/h) to metres on the ground, so a
calibration keeps working when a stream changes resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import shapely
from shapely.geometry import Polygon

from .config import CameraGeometry, ExclusionSpec


class CalibrationError(ValueError):
    """The calibration points cannot give a usable homography."""


def _as_points(points: Sequence[Sequence[float]] | np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise CalibrationError(f"{what} must be a list of (x, y) pairs")
    if not np.all(np.isfinite(arr)):
        raise CalibrationError(f"{what} contain non-finite values")
    return arr


def compute_homography(
    image_points: Sequence[Sequence[float]] | np.ndarray,
    world_points_m: Sequence[Sequence[float]] | np.ndarray,
    image_size: tuple[int, int] | None = None,
) -> tuple[np.ndarray, float]:
    """Fit the image→ground homography from 4 or more point pairs.

    ``image_points`` are normalised (0..1) unless ``image_size`` (w, h) is given, in which case
    they are pixels. Returns ``(H, reprojection_error_m)`` where H maps normalised image
    coordinates to metres and the error is the RMS distance in metres between the projected
    image points and the given world points.
    """
    img = _as_points(image_points, "image points")
    world = _as_points(world_points_m, "world points")
    if len(img) != len(world):
        raise CalibrationError("image and world point lists differ in length")
    if len(img) < 4:
        raise CalibrationError("a calibration needs at least 4 point pairs")
    if image_size is not None:
        w, h = image_size
        if w <= 0 or h <= 0:
            raise CalibrationError("image size must be positive")
        img = img / np.array([w, h], dtype=np.float64)
    elif img.max() > 1.5 or img.min() < -0.5:
        raise CalibrationError("image points look like pixels: pass image_size=(w, h)")
    # Collinear points give a degenerate fit that OpenCV may still "solve".
    for pts, what in ((img, "image"), (world, "world")):
        centred = pts - pts.mean(axis=0)
        if np.linalg.matrix_rank(centred, tol=1e-6 * max(1.0, np.abs(pts).max())) < 2:
            raise CalibrationError(f"the {what} points are collinear")
    H, _ = cv2.findHomography(img, world, 0)
    if H is None or not np.all(np.isfinite(H)) or abs(np.linalg.det(H)) < 1e-12:
        raise CalibrationError("the points do not define a homography")
    projected = apply_homography(H, img)
    err = float(np.sqrt(np.mean(np.sum((projected - world) ** 2, axis=1))))
    return H, err


def apply_homography(H: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Project (N, 2) points with a 3x3 homography (vectorised)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    ones = np.ones((len(pts), 1))
    proj = np.hstack([pts, ones]) @ H.T
    w = proj[:, 2:3]
    w = np.where(np.abs(w) < 1e-12, 1e-12, w)  # points on the horizon line
    return proj[:, :2] / w


def polygon_area(points: np.ndarray) -> float:
    """Area of a simple polygon (shoelace formula), in the points' unit squared."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3:
        return 0.0
    x, y = pts[:, 0], pts[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Boolean mask of which (N, 2) points lie inside ``polygon`` (even-odd ray casting).

    Vectorised over points and edges: O(N·V) in numpy, no Python loop over people.
    """
    return PolygonTest(polygon).contains(points)


class PolygonTest:
    """``points_in_polygon`` for one polygon whose edges are prepared once (a zone tests every
    frame's foot points against the same polygon)."""

    def __init__(self, polygon: np.ndarray) -> None:
        poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
        self.valid = len(poly) >= 3
        self.x1, self.y1 = poly[:, 0].copy(), poly[:, 1].copy()
        x2, y2 = np.roll(self.x1, -1), np.roll(self.y1, -1)
        self.dx, self.y2 = x2 - self.x1, y2
        # A level edge straddles no ray, so its crossing point is never read: divide by 1
        # there rather than silence a division by zero on every call.
        dy = y2 - self.y1
        self.dy = np.where(dy == 0, 1.0, dy)

    def contains(self, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if len(pts) == 0 or not self.valid:
            return np.zeros(len(pts), dtype=bool)
        x = pts[:, 0:1]
        y = pts[:, 1:2]
        straddles = (self.y1 > y) != (self.y2 > y)
        x_cross = self.x1 + (y - self.y1) * self.dx / self.dy
        crossings = straddles & (x < x_cross)
        return (np.count_nonzero(crossings, axis=1) % 2) == 1


class ExclusionMask:
    """The camera's exclusion areas, prepared once: which boxes have their foot point (bottom
    centre, the point zones use) inside one of them."""

    def __init__(self, exclusions: Sequence[ExclusionSpec]) -> None:
        self.tests = [PolygonTest(np.asarray(e.polygon, dtype=np.float64)) for e in exclusions]

    def keep(self, xyxy: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
        """Boolean mask of the (N, 4) pixel boxes to keep (foot point outside every area)."""
        boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        keep = np.ones(len(boxes), dtype=bool)
        if not self.tests or not len(boxes):
            return keep
        w, h = frame_size
        feet = np.column_stack([(boxes[:, 0] + boxes[:, 2]) / (2 * w), boxes[:, 3] / h])
        for test in self.tests:
            keep &= ~test.contains(feet)
        return keep


def visible_parts(
    polygon_norm: np.ndarray, exclusions: Sequence[ExclusionSpec]
) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """A polygon less the exclusion areas: its pieces as (exterior ring, hole rings)."""
    poly = np.asarray(polygon_norm, dtype=np.float64).reshape(-1, 2)
    if not exclusions:
        return [(poly, [])]
    if len(poly) < 3:
        return []
    # make_valid: a bow-tie drawn before polygons were checked must not break the difference.
    net = shapely.make_valid(Polygon(poly)).difference(
        shapely.union_all([shapely.make_valid(Polygon(e.polygon)) for e in exclusions if len(e.polygon) >= 3])
    )
    pieces = getattr(net, "geoms", [net])
    return [
        (np.asarray(p.exterior.coords)[:-1], [np.asarray(r.coords)[:-1] for r in p.interiors])
        for p in pieces
        if isinstance(p, Polygon) and not p.is_empty
    ]


@dataclass
class Calibration:
    """A fitted ground-plane calibration."""

    homography: np.ndarray  # normalised image → metres
    reprojection_error_m: float

    @classmethod
    def from_geometry(cls, geometry: CameraGeometry) -> Calibration | None:
        """Build from a CameraGeometry, or None when it has no calibration points."""
        img, world = geometry.calibration_image_points, geometry.calibration_world_points
        if not img or not world:
            return None
        H, err = compute_homography(img, world, geometry.calibration_image_size)
        return cls(H, err)

    def to_world(self, points_px: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
        """Pixel points (N, 2) of a frame of size (w, h) → metres on the ground."""
        w, h = frame_size
        pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 2) / np.array([w, h])
        return apply_homography(self.homography, pts)

    def polygon_area_m2(self, polygon_norm: np.ndarray) -> float:
        """Ground area of a polygon given in normalised image coordinates."""
        return polygon_area(apply_homography(self.homography, np.asarray(polygon_norm)))


class GroundMapper:
    """Maps foot points in pixels to ground metres for one camera and frame size.

    Calibrated: the homography. Uncalibrated: a uniform metres-per-pixel figure,
    sqrt(area_m2 / frame_area_px), which ignores perspective (results say ``calibrated=False``).
    """

    def __init__(self, geometry: CameraGeometry, calibration: Calibration | None) -> None:
        self.geometry = geometry
        self.calibration = calibration

    @property
    def calibrated(self) -> bool:
        return self.calibration is not None

    def metres_per_pixel(self, frame_size: tuple[int, int]) -> float:
        """Approximate metres per pixel from the monitored area (used uncalibrated)."""
        w, h = frame_size
        area = max(self.geometry.area_m2, 1e-6)
        return float(np.sqrt(area / max(w * h, 1)))

    def to_world(self, points_px: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
        pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
        if self.calibration is not None:
            return self.calibration.to_world(pts, frame_size)
        return pts * self.metres_per_pixel(frame_size)

    def zone_area_m2(self, polygon_norm: np.ndarray, explicit: float | None) -> float:
        """Zone area: explicit value, else from the homography, else its share of area_m2.

        A computed area leaves out the camera's exclusion areas (nobody is counted there, so
        they must not thin the density); an explicit one is the admin's own figure.
        """
        if explicit is not None and explicit > 0:
            return float(explicit)
        parts = visible_parts(polygon_norm, self.geometry.exclusions)
        if self.calibration is not None:
            area = sum(
                self.calibration.polygon_area_m2(outer)
                - sum(self.calibration.polygon_area_m2(hole) for hole in holes)
                for outer, holes in parts
            )
            if area > 0:
                return area
        return sum(polygon_area(outer) - sum(polygon_area(h) for h in holes) for outer, holes in parts) * (
            self.geometry.area_m2
        )
