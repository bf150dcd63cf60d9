"""Validators for the geometry stored on cameras (JSON point lists)."""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError
from shapely.geometry import Polygon


def _as_points(value, what: str) -> list[tuple[float, float]]:
    if not isinstance(value, list | tuple):
        raise ValidationError(f"{what} must be a list of [x, y] points.")
    points = []
    for i, point in enumerate(value, start=1):
        if (
            not isinstance(point, list | tuple)
            or len(point) != 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in point)
            or not all(math.isfinite(c) for c in point)
        ):
            raise ValidationError(f"{what}: point {i} must be [x, y] with two finite numbers.")
        points.append((float(point[0]), float(point[1])))
    return points


def validate_normalised_points(value) -> None:
    """Image points as fractions of the frame: 0 <= x, y <= 1."""
    for i, (x, y) in enumerate(_as_points(value, "Image points"), start=1):
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise ValidationError(
                f"Image point {i} ({x}, {y}) is outside the frame: use fractions from 0 to 1."
            )


def validate_world_points(value) -> None:
    """Ground points in metres, within a kilometre of the origin."""
    for i, (x, y) in enumerate(_as_points(value, "Ground points"), start=1):
        if abs(x) > 1000 or abs(y) > 1000:
            raise ValidationError(f"Ground point {i} ({x}, {y}) is more than 1 km away; use metres.")


def _polygon_area(points: list[tuple[float, float]]) -> float:
    return 0.5 * abs(
        sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True))
    )


def validate_polygon(value) -> None:
    """A zone or exclusion polygon: 3 to 100 normalised points enclosing a non-zero area,
    edges not crossing (a bow tie has no meaningful inside, nor area)."""
    validate_normalised_points(value)
    points = _as_points(value, "Polygon")
    if not 3 <= len(points) <= 100:
        raise ValidationError("A polygon needs between 3 and 100 points.")
    if _polygon_area(points) < 1e-4:
        raise ValidationError("The polygon encloses no area.")
    if not Polygon(points).is_valid:
        raise ValidationError(
            "The polygon's edges cross or touch each other: place its points in order around the area."
        )


def validate_line_points(value) -> None:
    """A counting line: two distinct normalised points."""
    validate_normalised_points(value)
    points = _as_points(value, "Line")
    if len(points) != 2:
        raise ValidationError("A counting line needs exactly 2 points.")
    (x1, y1), (x2, y2) = points
    if math.hypot(x2 - x1, y2 - y1) < 0.01:
        raise ValidationError("The two points of a counting line must be apart.")


IMGSZ_MIN, IMGSZ_MAX, IMGSZ_STEP = 160, 2560, 32


def validate_imgsz(value) -> None:
    """A detector input size the YOLO models accept: a multiple of 32 in 160..2560 px."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("The input size must be a whole number of pixels.")
    if not IMGSZ_MIN <= value <= IMGSZ_MAX or value % IMGSZ_STEP:
        raise ValidationError(
            f"The input size must be a multiple of {IMGSZ_STEP} between {IMGSZ_MIN} and {IMGSZ_MAX} px "
            f"(e.g. 640, 960, 1280); {value} is not."
        )
