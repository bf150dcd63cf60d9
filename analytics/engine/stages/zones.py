"""Zones and lines stage: per-zone count, density, surge and risk; counting-line crossings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import EngineConfig
from ..density import (
    LineCounter,
    PreparedZone,
    density_level,
    level_of_service,
    prepare_zones,
    zone_membership,
)
from ..results import LineResult, ZoneResult
from ..risk import RiskInputs, RiskThresholds, risk_level, risk_score
from ..surge import SurgeMeter
from .base import Setup
from .crowd import CrowdMeasures
from .kinematics import Motion
from .surge import new_meter, retune

Segment = tuple[tuple[int, int], tuple[int, int]]
ARROW_FRAC = 0.03  # a line's "in" arrow, as a share of the frame diagonal


@dataclass(frozen=True, slots=True)
class Places:
    zones: list[ZoneResult]
    lines: list[LineResult]
    flow_in: int  # crossings in this frame, all lines
    flow_out: int
    zone_polygons_px: list[np.ndarray]
    line_points_px: list[Segment]
    line_arrows_px: list[Segment]  # (middle, tip) towards each line's "in" side


class ZonesLinesStage:
    """Zones: who stands in each polygon and how dangerous it is there (the zone's own density
    thresholds). Lines: in/out crossings by tracked people, with the camera's running totals
    (kept through ``reset``; ``reset_counts`` zeroes them)."""

    def __init__(self, setup: Setup) -> None:
        self._lines = LineCounter(setup.geometry.lines)
        self._meters: dict[int | str, SurgeMeter] = {}
        self._side = np.zeros((0, len(setup.geometry.lines)), dtype=np.int8)  # by history slot
        self._owner = np.zeros(0, dtype=np.int64)  # slot tenure each row of _side belongs to
        self._setup: Setup | None = None
        self.reconfigure(setup)

    def reconfigure(self, setup: Setup) -> None:
        c, geo = setup.config, setup.geometry
        if self._setup is None or list(geo.lines) != list(self._setup.geometry.lines):
            self._lines = LineCounter(geo.lines)
            self._forget_sides(len(geo.lines))
        if self._setup is None or geo is not self._setup.geometry:
            self._meters = {z.id: self._meters.get(z.id) or new_meter(c) for z in geo.zones}
        for meter in self._meters.values():
            retune(meter, c)
        self._setup = setup
        self._size: tuple[int, int] | None = None  # zones and segments in px: next frame

    def reset(self) -> None:
        """Forget the zones' surge history and the sides people were on; keep the line totals."""
        assert self._setup is not None
        c = self._setup.config
        self._meters = {z.id: new_meter(c) for z in self._setup.geometry.zones}
        self._forget_sides(self._side.shape[1])

    def reset_counts(self) -> None:
        self._lines.reset()

    def update(self, m: Motion, crowd: CrowdMeasures, t: float, frame_size: tuple[int, int]) -> Places:
        if frame_size != self._size:
            self._prepare(frame_size)
        zones = self._zone_results(m, crowd, t)
        lines = self._line_results(m, frame_size)
        return Places(
            zones=zones,
            lines=lines,
            flow_in=sum(r.in_delta for r in lines),
            flow_out=sum(r.out_delta for r in lines),
            zone_polygons_px=list(self._polygons),
            line_points_px=list(self._segments),
            line_arrows_px=list(self._arrows),
        )

    # -- zones -----------------------------------------------------------------------------
    def _prepare(self, frame_size: tuple[int, int]) -> None:
        """Polygons, areas and thresholds for a frame size (they change only with it and at
        ``reconfigure``)."""
        s = self._setup
        assert s is not None
        self._zones: list[PreparedZone] = prepare_zones(s.geometry.zones, frame_size, s.mapper, s.config)
        self._thresholds = [RiskThresholds(z.caution, z.warning, z.critical) for z in self._zones]
        self._polygons = [z.polygon_px for z in self._zones]
        self._segments = [
            ((int(p1[0]), int(p1[1])), (int(p2[0]), int(p2[1])))
            for p1, p2 in self._lines.segments_px(frame_size)
        ]
        arrow_px = ARROW_FRAC * float(np.hypot(*frame_size))
        self._arrows = [
            ((int(a[0]), int(a[1])), (int(b[0]), int(b[1])))
            for a, b in self._lines.in_arrows_px(frame_size, arrow_px)
        ]
        self._size = frame_size

    def _zone_results(self, m: Motion, crowd: CrowdMeasures, t: float) -> list[ZoneResult]:
        if not self._zones:
            return []
        s = self._setup
        assert s is not None
        c = s.config
        member = zone_membership(m.feet, self._zones)
        return [
            self._zone(c, zone, th, mask, m, crowd, t)
            for zone, th, mask in zip(self._zones, self._thresholds, member, strict=True)
        ]

    def _zone(
        self,
        c: EngineConfig,
        zone: PreparedZone,
        th: RiskThresholds,
        mask: np.ndarray,
        m: Motion,
        crowd: CrowdMeasures,
        t: float,
    ) -> ZoneResult:
        zc = int(np.count_nonzero(mask))
        zd = zc / zone.area_m2 if zone.area_m2 > 0 else 0.0
        zk = m.speeds[mask & m.known]
        zspeed = float(zk.sum() / len(zk)) if len(zk) else None  # np.mean, without its overhead
        meter = self._meters.get(zone.spec.id)
        if meter is None:
            meter = self._meters[zone.spec.id] = new_meter(c)
        zsurge = meter.update(t, zc, zd).surge
        if zd < c.surge_min_density_pm2:
            zsurge = 0.0  # as the surge alert: no surge in a sparse scene
        zscore, _ = risk_score(RiskInputs(zd, zsurge, zspeed, crowd.pressure_term, m.coherence), c, th)
        cap = zone.spec.capacity
        return ZoneResult(
            id=zone.spec.id,
            name=zone.spec.name,
            count=zc,
            area_m2=zone.area_m2,
            density=zd,
            level_of_service=level_of_service(zd, c.los_bounds_pm2),
            density_level=density_level(zd, zone.caution, zone.warning, zone.critical),
            risk_score=zscore,
            risk_level=risk_level(zscore, c),
            capacity=cap,
            capacity_utilization=(zc / cap * 100.0) if cap else None,
            avg_speed=zspeed or 0.0,
        )

    # -- lines -----------------------------------------------------------------------------
    def _forget_sides(self, n_lines: int) -> None:
        self._side = np.zeros((len(self._owner), n_lines), dtype=np.int8)
        self._owner = np.zeros(len(self._owner), dtype=np.int64)

    def _line_results(self, m: Motion, frame_size: tuple[int, int]) -> list[LineResult]:
        """Crossings by tracked people (a crossing needs an identity): each track's last
        definite side per line is kept by its history slot while the slot holds that track."""
        slots = m.slots
        if len(slots) and int(slots.max()) >= len(self._owner):
            grow = max(int(slots.max()) + 1, 2 * len(self._owner), 64) - len(self._owner)
            self._side = np.vstack([self._side, np.zeros((grow, self._side.shape[1]), np.int8)])
            self._owner = np.concatenate([self._owner, np.zeros(grow, dtype=np.int64)])
        fresh = self._owner[slots] != m.serials
        if fresh.any():
            self._side[slots[fresh]] = 0
            self._owner[slots[fresh]] = m.serials[fresh]
        results, new_sides = self._lines.update(m.feet[m.tracked], self._side[slots], frame_size)
        if len(slots):
            self._side[slots] = new_sides
        return results
