"""Density (people per m²), Fruin level of service, zones and counting lines."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np

from .config import EngineConfig, LineSpec, ZoneSpec
from .geometry import GroundMapper, PolygonTest
from .results import LineResult

LOS_LABELS = ("A", "B", "C", "D", "E", "F")


def level_of_service(density_pm2: float, bounds: tuple[float, ...]) -> str:
    """Fruin level of service A..F for a density in people per m² (upper bounds of A..E)."""
    return LOS_LABELS[bisect_right(bounds, density_pm2)]


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
    inside: PolygonTest = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.inside = PolygonTest(self.polygon_px)


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
    return np.stack([z.inside.contains(feet_px) for z in zones])


@dataclass(frozen=True)
class _Segment:
    """A counting line in pixels for one frame size."""

    p1: np.ndarray
    p2: np.ndarray
    d: np.ndarray  # p2 - p1
    length: float
    in_code: int  # the side code (+1 left, -1 right) that counts as "in"


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
        self._size: tuple[int, int] | None = None
        self._segments: list[_Segment] = []
        self._margin = 0.0

    def reset(self) -> None:
        self.in_total = [0] * len(self.lines)
        self.out_total = [0] * len(self.lines)

    def segments_px(self, frame_size: tuple[int, int]) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(s.p1, s.p2) for s in self._prepared(frame_size)]

    def in_arrows_px(
        self, frame_size: tuple[int, int], length_px: float
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per line, (middle, tip) of an arrow pointing to its "in" side: walking that way
        through the line counts as in (the left normal of p1→p2 is (dy, -dx), y down)."""
        arrows = []
        for s in self._prepared(frame_size):
            mid = (s.p1 + s.p2) / 2
            normal = np.array([s.d[1], -s.d[0]]) / max(s.length, 1e-9) * s.in_code
            arrows.append((mid, mid + normal * length_px))
        return arrows

    def _prepared(self, frame_size: tuple[int, int]) -> list[_Segment]:
        """The lines in pixels, worked out once per frame size."""
        if frame_size != self._size:
            w, h = frame_size
            scale = np.array([w, h], dtype=np.float64)
            segs = []
            for ln in self.lines:
                p1, p2 = np.asarray(ln.p1) * scale, np.asarray(ln.p2) * scale
                d = p2 - p1
                segs.append(_Segment(p1, p2, d, float(np.hypot(*d)), 1 if ln.in_side == "left" else -1))
            self._segments = segs
            self._margin = self.hysteresis_frac * float(np.hypot(w, h))
            self._size = frame_size
        return self._segments

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
        segments = self._prepared(frame_size)
        margin = self._margin
        new_side = prev_side.copy()
        results = []
        for j, (seg, spec) in enumerate(zip(segments, self.lines, strict=False)):
            in_d = out_d = 0
            length = seg.length
            if length > 0 and len(feet_px):
                d = seg.d
                rel = feet_px - seg.p1
                # Signed distance; negative = left of p1→p2 in image coordinates (y down).
                signed = (d[0] * rel[:, 1] - d[1] * rel[:, 0]) / length
                along = (rel @ d) / (length * length)  # 0..1 between p1 and p2
                side = np.where(signed < -margin, 1, np.where(signed > margin, -1, 0))
                within = (along >= -0.02) & (along <= 1.02)
                prev = prev_side[:, j]
                crossed = (prev != 0) & (side != 0) & (side != prev) & within
                in_d = int(np.count_nonzero(crossed & (side == seg.in_code)))
                out_d = int(np.count_nonzero(crossed & (side == -seg.in_code)))
                # Remember the last definite side; inside the dead band keep the old one.
                new_side[:, j] = np.where(side != 0, side, prev).astype(np.int8)
            self.in_total[j] += in_d
            self.out_total[j] += out_d
            results.append(
                LineResult(spec.id, spec.name, self.in_total[j], self.out_total[j], in_d, out_d)
            )
        return results, new_side
