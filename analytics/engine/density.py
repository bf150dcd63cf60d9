"""Density (people per m²), Fruin level of service, zones and counting lines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import EngineConfig, LineSpec, ZoneSpec
from .geometry import GroundMapper, points_in_polygon
from .results import LineResult

LOS_LABELS = ("A", "B", "C", "D", "E", "F")


def level_of_service(density_pm2: float, bounds: tuple[float, ...]) -> str:
    """Fruin level of service A..F for a density in people per m² (upper bounds of A..E)."""
    return LOS_LABELS[int(np.searchsorted(np.asarray(bounds), density_pm2, side="right"))]


def density_level(density_pm2: float, caution: float, warning: float, critical: float) -> str:
    """SAFE / CAUTION / WARNING / CRITICAL from density thresholds in people per m²."""
    if density_pm2 >= critical:
        return "CRITICAL"
    if density_pm2 >= warning:
        return "WARNING"
    if density_pm2 >= caution:
        return "CAUTION"
    return "SAFE"


def density(count: int, area_m2: float) -> float:
    """People per m²; 0 when the area is not positive."""
    return float(count) / area_m2 if area_m2 > 0 else 0.0


@dataclass
class PreparedZone:
    spec: ZoneSpec
    polygon_px: np.ndarray  # (V, 2) for the current frame size
    area_m2: float
    caution: float
    warning: float
    critical: float


def prepare_zones(
    zones: list[ZoneSpec],
    frame_size: tuple[int, int],
    mapper: GroundMapper,
    config: EngineConfig,
) -> list[PreparedZone]:
    """Zone polygons in pixels, areas in m² and each zone's density thresholds."""
    w, h = frame_size
    out = []
    for z in zones:
        poly = np.asarray(z.polygon, dtype=np.float64).reshape(-1, 2)
        warning = z.density_warning if z.density_warning is not None else config.density_warning_pm2
        critical = (
            z.density_critical if z.density_critical is not None else config.density_critical_pm2
        )
        caution = min(config.density_caution_pm2, warning / 2)
        out.append(
            PreparedZone(
                spec=z,
                polygon_px=poly * np.array([w, h]),
                area_m2=mapper.zone_area_m2(poly, z.area_m2),
                caution=caution,
                warning=warning,
                critical=critical,
            )
        )
    return out


def zone_membership(feet_px: np.ndarray, zones: list[PreparedZone]) -> np.ndarray:
    """(Z, N) boolean: person n's foot point lies in zone z."""
    if not zones:
        return np.zeros((0, len(feet_px)), dtype=bool)
    return np.stack([points_in_polygon(feet_px, z.polygon_px) for z in zones])


class LineCounter:
    """In/out counts per counting line from track crossings.

    A crossing is a track's foot point moving from one side of the line to the other *through
    the segment*. A dead band around the line (``hysteresis_frac`` of the frame diagonal)
    absorbs box jitter, so a person standing on the line is not counted again and again; each
    real crossing counts once.
    """

    def __init__(self, lines: list[LineSpec], hysteresis_frac: float = 0.01) -> None:
        self.lines = list(lines)
        self.hysteresis_frac = hysteresis_frac
        self.in_total = [0] * len(self.lines)
        self.out_total = [0] * len(self.lines)

    def reset(self) -> None:
        self.in_total = [0] * len(self.lines)
        self.out_total = [0] * len(self.lines)

    def segments_px(self, frame_size: tuple[int, int]) -> list[tuple[np.ndarray, np.ndarray]]:
        w, h = frame_size
        scale = np.array([w, h], dtype=np.float64)
        return [(np.asarray(ln.p1) * scale, np.asarray(ln.p2) * scale) for ln in self.lines]

    def update(
        self,
        feet_px: np.ndarray,
        prev_side: np.ndarray,
        frame_size: tuple[int, int],
    ) -> tuple[list[LineResult], np.ndarray]:
        """Count this frame's crossings.

        ``prev_side`` is (N, L) int8 per tracked person and line (+1 left, -1 right, 0 unknown)
        and is returned updated. Only tracked people may be passed in.
        """
        w, h = frame_size
        margin = self.hysteresis_frac * float(np.hypot(w, h))
        new_side = prev_side.copy()
        results = []
        for j, ((p1, p2), spec) in enumerate(
            zip(self.segments_px(frame_size), self.lines, strict=False)
        ):
            d = p2 - p1
            length = float(np.hypot(*d))
            in_d = out_d = 0
            if length > 0 and len(feet_px):
                rel = feet_px - p1
                # Signed distance; negative = left of p1→p2 in image coordinates (y down).
                signed = (d[0] * rel[:, 1] - d[1] * rel[:, 0]) / length
                along = (rel @ d) / (length * length)  # 0..1 between p1 and p2
                side = np.where(signed < -margin, 1, np.where(signed > margin, -1, 0))
                within = (along >= -0.02) & (along <= 1.02)
                prev = prev_side[:, j]
                crossed = (prev != 0) & (side != 0) & (side != prev) & within
                in_code = 1 if spec.in_side == "left" else -1
                in_d = int(np.count_nonzero(crossed & (side == in_code)))
                out_d = int(np.count_nonzero(crossed & (side == -in_code)))
                # Remember the last definite side; inside the dead band keep the old one.
                new_side[:, j] = np.where(side != 0, side, prev).astype(np.int8)
            self.in_total[j] += in_d
            self.out_total[j] += out_d
            results.append(
                LineResult(spec.id, spec.name, self.in_total[j], self.out_total[j], in_d, out_d)
            )
        return results, new_side
