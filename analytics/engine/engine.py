"""``CrowdEngine``: one per camera. Detect → track → kinematics → crowd analytics → risk."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from . import crowd
from .config import CameraGeometry, EngineConfig
from .density import (
    LineCounter,
    PreparedZone,
    density_level,
    level_of_service,
    prepare_zones,
    zone_membership,
)
from .geometry import Calibration, GroundMapper
from .kinematics import TrackStore
from .people import PeopleDetector, filter_boxes
from .quality import ViewCheck, ViewMeter, count_quality
from .results import (
    AnomalyResult,
    ClusterResult,
    CountQuality,
    FrameResult,
    PersonResult,
    RenderData,
    TilingState,
    TrackedBox,
    ZoneResult,
)
from .risk import RiskInputs, RiskThresholds, risk_level, risk_score
from .surge import SurgeMeter
from .tracking import PersonTracker
from .trend import TrendTracker

__all__ = ["CrowdEngine", "filter_boxes"]

if TYPE_CHECKING:
    from .detector import Detections, Detector
    from .render import RenderOptions

log = logging.getLogger(__name__)

FAST_SPEED_MPS = 1.5  # box colour thresholds (the original's)
MOVING_SPEED_MPS = 0.8

TrackInput = Sequence[TrackedBox] | tuple[np.ndarray, np.ndarray | None, np.ndarray | None]


class CrowdEngine:
    """Analyses one camera's frames. Holds that camera's tracker and history only.

    ``detector`` may be shared between engines (it is thread-safe); ``None`` allows only
    ``analyse`` (synthetic input). Timestamps are the source's own clock in seconds.
    """

    def __init__(
        self,
        detector: Detector | None = None,
        config: EngineConfig | None = None,
        geometry: CameraGeometry | None = None,
    ) -> None:
        self.detector = detector
        self._config = config or EngineConfig()
        self._geometry = geometry or CameraGeometry()
        self._pending_config: EngineConfig | None = None
        self._pending_geometry: CameraGeometry | None = None
        self._update_lock = threading.Lock()
        self._calibration = Calibration.from_geometry(self._geometry)
        self._mapper = GroundMapper(self._geometry, self._calibration)
        self._lines = LineCounter(self._geometry.lines)
        self._zone_cache: tuple[tuple[int, int], list[PreparedZone]] | None = None
        self._tracker: PersonTracker | None = None
        self._reid_logged = False
        self._imgsz_logged = False
        self._people = PeopleDetector(detector, self._config) if detector is not None else None
        self._view = ViewMeter(blur_min=self._config.quality_blur_min, dark_max=self._config.quality_dark_max)
        self._last_good: FrameResult | None = None
        self.reset()

    # -- configuration ------------------------------------------------------------------
    @property
    def config(self) -> EngineConfig:
        return self._config

    @property
    def geometry(self) -> CameraGeometry:
        return self._geometry

    @property
    def calibration(self) -> Calibration | None:
        return self._calibration

    @property
    def reid(self) -> bool:
        return bool(self._tracker and self._tracker.reid)

    def update_config(self, config: EngineConfig) -> None:
        """Use a new configuration from the next frame on (no restart)."""
        with self._update_lock:
            self._pending_config = config

    def update_geometry(self, geometry: CameraGeometry) -> None:
        """Use new area/calibration/zones/lines from the next frame on.

        Raises ``CalibrationError`` at once when the calibration points are unusable.
        """
        Calibration.from_geometry(geometry)  # validate now, in the caller's thread
        with self._update_lock:
            self._pending_geometry = geometry

    def _apply_pending(self) -> None:
        with self._update_lock:
            config, self._pending_config = self._pending_config, None
            geometry, self._pending_geometry = self._pending_geometry, None
        if config is not None:
            old = self._config
            self._config = config
            if (old.tracker_config, old.reid) != (config.tracker_config, config.reid):
                self._tracker = self._new_tracker()
            if (old.history_length, old.track_ttl_s) != (config.history_length, config.track_ttl_s):
                self._store = TrackStore(config.history_length, config.track_ttl_s)
                self._store.set_line_count(len(self._geometry.lines))
            if old != config:
                self._rebuild_meters(keep_state=True)  # new windows/alphas, same history
            if self._people is not None:
                self._people.configure(config)
                self._imgsz_logged = False
            self._view.blur_min, self._view.dark_max = config.quality_blur_min, config.quality_dark_max
        if geometry is not None:
            old_lines = self._geometry.lines
            self._geometry = geometry
            self._calibration = Calibration.from_geometry(geometry)
            self._mapper = GroundMapper(geometry, self._calibration)
            self._zone_cache = None
            if list(geometry.lines) != list(old_lines):
                self._lines = LineCounter(geometry.lines)
                self._store.set_line_count(len(geometry.lines))
            self._zone_surge = {
                z.id: self._zone_surge.get(z.id) or self._new_surge() for z in geometry.zones
            }

    def _new_tracker(self) -> PersonTracker | None:
        if self.detector is None:
            return None
        want = self._config.reid and self.detector.native_features
        tracker = PersonTracker(self._config.tracker_config, want)
        if self._config.reid and not self.detector.native_features and not self._reid_logged:
            log.warning(
                "ReID off for detector %s (%s backend has no native features); "
                "tracking on motion only",
                self.detector.model_path,
                self.detector.backend,
            )
            self._reid_logged = True
        return tracker

    def _new_surge(self) -> SurgeMeter:
        c = self._config
        return SurgeMeter(
            c.surge_window_s,
            c.surge_min_count,
            c.surge_rel_change_full,
            c.surge_density_rate_full_pm2s,
        )

    def _rebuild_meters(self, keep_state: bool = False) -> None:
        c = self._config
        if keep_state and hasattr(self, "_surge"):
            for m in [self._surge, *self._zone_surge.values()]:
                m.window_s, m.min_count = c.surge_window_s, c.surge_min_count
                m.rel_change_full = c.surge_rel_change_full
                m.density_rate_full = c.surge_density_rate_full_pm2s
            for tr, delta in (
                (self._density_trend, c.trend_density_delta_pm2),
                (self._risk_trend, c.trend_risk_delta),
            ):
                tr.alpha, tr.beta, tr.interval_s = c.ema_alpha, c.trend_beta, c.trend_interval_s
                tr.horizon_s, tr.delta = c.forecast_horizon_s, delta
            return
        self._surge = self._new_surge()
        self._zone_surge = {z.id: self._new_surge() for z in self._geometry.zones}
        self._density_trend = TrendTracker(
            c.ema_alpha,
            c.trend_beta,
            c.trend_interval_s,
            c.forecast_horizon_s,
            c.trend_density_delta_pm2,
        )
        self._risk_trend = TrendTracker(
            c.ema_alpha,
            c.trend_beta,
            c.trend_interval_s,
            c.forecast_horizon_s,
            c.trend_risk_delta,
            upper=1.0,
        )

    def reset(self) -> None:
        """New tracker and empty history (e.g. after a source reconnect).

        Counting-line totals are kept (they are the camera's running totals); use
        ``reset_counts`` to zero them.
        """
        self._apply_pending()
        c = self._config
        self._tracker = self._new_tracker()
        self._store = TrackStore(c.history_length, c.track_ttl_s)
        self._store.set_line_count(len(self._geometry.lines))
        self._rebuild_meters()
        n = max(c.sparkline_length, 2)
        self._hist_count: deque[float] = deque(maxlen=n)
        self._hist_density: deque[float] = deque(maxlen=n)
        self._hist_risk: deque[float] = deque(maxlen=n)
        self._last_t: float | None = None
        self.frame_index = 0
        self._last_good = None
        self._view.reset()
        if self._people is not None:
            self._people.reset()

    def reset_counts(self) -> None:
        self._lines.reset()

    # -- per frame -------------------------------------------------------------------------
    def process(self, frame_bgr: np.ndarray, timestamp_s: float) -> FrameResult:
        """Detect, track and analyse one BGR frame taken at ``timestamp_s`` (source clock)."""
        if self.detector is None:
            raise RuntimeError("CrowdEngine.process needs a detector; use analyse() without one")
        self._apply_pending()
        if self._tracker is None:
            self._tracker = self._new_tracker()
        c = self._config
        people = self._people
        assert people is not None and self._tracker is not None
        h, w = frame_bgr.shape[:2]
        t = float(timestamp_s)
        view = self._view.check(frame_bgr, t)
        last = self._last_good
        if view.unusable and last is not None and 0 <= t - last.timestamp <= c.quality_hold_max_s:
            return self._hold(last, view, t)
        if people.imgsz_note and not self._imgsz_logged:
            log.warning("%s", people.imgsz_note)
            self._imgsz_logged = True
        t0 = time.perf_counter()
        found = people.find(frame_bgr, t)
        t1 = time.perf_counter()
        ids = np.full(len(found.boxes), -1, dtype=np.int64)
        rows = self._tracker.update(found.boxes, frame_bgr)
        if len(rows):
            ids[rows[:, 0]] = rows[:, 1]
        dets, ids, evidence = found.confirm(ids)
        t2 = time.perf_counter()
        timings = {
            "detect": (t1 - t0) * 1e3,
            "track": (t2 - t1) * 1e3,
            "detect_track": (t2 - t0) * 1e3,
        }
        result = self._analyse(dets.xyxy, dets.conf, ids, t, (w, h), timings)
        quality = count_quality(view, evidence, c.tile_min_person_px)
        struggling = bool({"small_boxes", "faint", "saturated", "overlap"} & set(quality.reasons))
        people.observe(found, t, struggling)
        result.count_quality = quality
        result.tiling = TilingState(c.tiling, found.tiled, found.grid, people.policy.reason)
        result.imgsz = people.imgsz
        result.imgsz_note = people.imgsz_note
        if not view.unusable:
            self._last_good = result
        return result

    def _hold(self, last: FrameResult, view: ViewCheck, t: float) -> FrameResult:
        """A frame too blurred, dark or blocked to count: the last good figures, flagged.

        A camera pan must not read 0 people (nor lower the risk); nothing is detected, so
        the tracker, meters and trends are not fed a false empty scene either.
        """
        self.frame_index += 1
        self._last_t = t
        rd = last.render_data
        if rd is not None:
            empty = np.zeros((0, 2))
            rd = replace(
                rd,
                boxes=np.zeros((0, 4)),
                track_ids=np.zeros(0, np.int64),
                speeds=np.zeros(0),
                states=[],
                feet=empty,
                directions=empty,
                trails=[],
                pair_index=np.zeros((0, 2), np.int64),
                pair_distance_m=np.zeros(0),
            )
        prev = last.count_quality
        return replace(
            last,
            timestamp=t,
            frame_index=self.frame_index,
            flow_in=0,
            flow_out=0,
            persons=[],
            timings_ms={},
            render_data=rd,
            count_quality=CountQuality(
                "degraded", list(view.reasons), prev.undercount_factor, prev.estimated_count, True
            ),
            tiling=replace(last.tiling, active=False, reason="frame unusable: figures held"),
        )

    def analyse(
        self, tracks: TrackInput, timestamp_s: float, frame_size: tuple[int, int]
    ) -> FrameResult:
        """Analyse already tracked boxes (no detector): a list of ``TrackedBox`` or a tuple
        ``(xyxy (N,4), track_ids (N,) with -1 for untracked | None, confidences | None)``."""
        self._apply_pending()
        if isinstance(tracks, tuple):
            xyxy = np.asarray(tracks[0], dtype=np.float64).reshape(-1, 4)
            ids = (
                np.full(len(xyxy), -1, dtype=np.int64)
                if tracks[1] is None
                else np.asarray(tracks[1], dtype=np.int64)
            )
            conf = np.ones(len(xyxy)) if tracks[2] is None else np.asarray(tracks[2], float)
        else:
            xyxy = np.array([b.xyxy for b in tracks], dtype=np.float64).reshape(-1, 4)
            ids = np.array(
                [-1 if b.track_id is None else b.track_id for b in tracks], dtype=np.int64
            )
            conf = np.array([b.confidence for b in tracks], dtype=np.float64)
        return self._analyse(xyxy, conf, ids, float(timestamp_s), frame_size, {})

    def render(
        self, frame_bgr: np.ndarray, result: FrameResult, options: RenderOptions | None = None
    ) -> np.ndarray:
        """Annotated copy of ``frame_bgr`` (the input is never modified)."""
        from .render import render_frame

        return render_frame(frame_bgr, result, options, self._config)

    # -- analytics ---------------------------------------------------------------------------
    def _zones(self, frame_size: tuple[int, int]) -> list[PreparedZone]:
        if self._zone_cache is None or self._zone_cache[0] != frame_size:
            zones = prepare_zones(self._geometry.zones, frame_size, self._mapper, self._config)
            self._zone_cache = (frame_size, zones)
        return self._zone_cache[1]

    def _analyse(
        self,
        xyxy: np.ndarray,
        conf: np.ndarray,
        ids: np.ndarray,
        t: float,
        frame_size: tuple[int, int],
        timings: dict[str, float],
    ) -> FrameResult:
        ta = time.perf_counter()
        c = self._config
        geo = self._geometry
        w, h = int(frame_size[0]), int(frame_size[1])
        if self._last_t is not None and t < self._last_t - 1e-6:
            # The source clock went backwards (a file looped, a stream restarted): old history
            # would give nonsense speeds and rates.
            log.info("source time went back from %.3f to %.3f s: history cleared", self._last_t, t)
            self._store.reset()
            self._store.set_line_count(len(geo.lines))
            self._rebuild_meters()
        self._last_t = t
        self.frame_index += 1

        n = len(xyxy)
        xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        feet = np.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2, xyxy[:, 3]], axis=1)
        world = self._mapper.to_world(feet, (w, h))
        tracked = np.flatnonzero(ids >= 0)

        # Kinematics (tracked people only).
        store = self._store
        slots = store.update(ids[tracked], t, feet[tracked], world[tracked])
        store.prune(t)
        speeds = np.full(n, np.nan)
        directions = np.zeros((n, 2))
        velocities = np.full((n, 2), np.nan)
        if len(tracked):
            vel, sp, dirs = store.velocities(slots, t, c.velocity_window_s)
            speeds[tracked] = sp
            directions[tracked] = dirs
            velocities[tracked] = np.where(np.isfinite(sp)[:, None], vel, np.nan)
        known = np.isfinite(speeds)
        avg_speed = float(np.mean(speeds[known])) if known.any() else 0.0
        max_speed = float(np.max(speeds[known])) if known.any() else 0.0

        # Coherence over a longer window, on ground directions of people who really moved.
        coherence = 0.0
        if len(tracked) >= 2:
            disp, _, _, valid = store.motion(slots, t, c.coherence_window_s)
            dist = np.hypot(disp[:, 0], disp[:, 1])
            movers = valid & (dist >= c.coherence_min_move_m)
            if np.count_nonzero(movers) >= 2:
                coherence = crowd.flow_coherence(disp[movers] / dist[movers, None])

        count = n
        area = geo.area_m2
        dens = count / area if area > 0 else 0.0

        clusters = crowd.congestion_clusters(world, c.cluster_eps_m, c.cluster_min_samples)
        pairs, pair_d = crowd.proximity_pairs(world, c.proximity_m)
        z, flagged = crowd.speed_anomalies(
            speeds, c.anomaly_zscore, c.anomaly_min_people, c.anomaly_speed_floor_mps
        )
        pressure = crowd.helbing_pressure(world, velocities, c.pressure_radius_m).value
        pressure_term = min(1.0, pressure / c.pressure_onset_s2) if c.pressure_onset_s2 > 0 else 0.0
        speed_for_risk = avg_speed if known.any() else None
        stagnant, stagnation_score = crowd.stagnation(
            dens, speed_for_risk, c.stagnation_density_pm2, c.stagnant_speed_mps
        )
        surge = self._surge.update(t, count, dens)
        surge_value = surge.surge if dens >= c.surge_min_density_pm2 else 0.0
        score, components = risk_score(
            RiskInputs(dens, surge_value, speed_for_risk, pressure_term, coherence), c
        )
        level = risk_level(score, c)
        density_trend = self._density_trend.update(t, dens)
        risk_trend = self._risk_trend.update(t, score)

        # Zones.
        zones = self._zones((w, h))
        zone_results: list[ZoneResult] = []
        if zones:
            member = zone_membership(feet, zones)
            for zone, mask in zip(zones, member, strict=False):
                zc = int(np.count_nonzero(mask))
                zd = zc / zone.area_m2 if zone.area_m2 > 0 else 0.0
                zk = mask & known
                zspeed = float(np.mean(speeds[zk])) if zk.any() else None
                meter = self._zone_surge.setdefault(zone.spec.id, self._new_surge())
                zsurge = meter.update(t, zc, zd).surge
                if zd < c.surge_min_density_pm2:
                    zsurge = 0.0  # as the surge alert: no surge in a sparse scene
                th = RiskThresholds(zone.caution, zone.warning, zone.critical)
                zscore, _ = risk_score(
                    RiskInputs(zd, zsurge, zspeed, pressure_term, coherence), c, th
                )
                cap = zone.spec.capacity
                zone_results.append(
                    ZoneResult(
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
                )

        # Counting lines (tracked people only: a crossing needs an identity).
        line_results, new_sides = self._lines.update(feet[tracked], store.line_side[slots], (w, h))
        if len(slots):
            store.line_side[slots] = new_sides

        # Clusters with hulls.
        cluster_results: list[ClusterResult] = []
        if clusters.n_clusters:
            for k in range(clusters.n_clusters):
                members = np.flatnonzero(clusters.labels == k)
                hull = crowd.cluster_hull(feet[members])
                cluster_results.append(
                    ClusterResult(
                        id=k,
                        size=len(members),
                        track_ids=[int(i) if i >= 0 else None for i in ids[members].tolist()],
                        centroid=(float(feet[members, 0].mean()), float(feet[members, 1].mean())),
                        hull=[(int(round(x)), int(round(y))) for x, y in hull.tolist()],
                        area_m2=crowd.hull_area_m2(world[members]),
                    )
                )

        # Persons.
        states = ["normal"] * n
        for i in range(n):
            if ids[i] < 0:
                states[i] = "untracked"
            elif flagged[i]:
                states[i] = "anomaly"
            elif known[i] and speeds[i] > FAST_SPEED_MPS:
                states[i] = "fast"
            elif known[i] and speeds[i] > MOVING_SPEED_MPS:
                states[i] = "moving"
        ids_l = ids.tolist()
        xyxy_l = xyxy.tolist()
        feet_l = feet.tolist()
        world_l = world.tolist()
        dir_l = directions.tolist()
        sp_l = speeds.tolist()
        conf_l = np.asarray(conf, dtype=np.float64).tolist()
        flag_l = flagged.tolist()
        persons = [
            PersonResult(
                track_id=ids_l[i] if ids_l[i] >= 0 else None,
                box=tuple(xyxy_l[i]),  # type: ignore[arg-type]
                confidence=conf_l[i],
                foot=tuple(feet_l[i]),  # type: ignore[arg-type]
                position_m=tuple(world_l[i]),  # type: ignore[arg-type]
                speed=sp_l[i] if known[i] else None,
                direction=tuple(dir_l[i]),  # type: ignore[arg-type]
                anomaly=flag_l[i],
                state=states[i],
            )
            for i in range(n)
        ]
        anomalies = [
            AnomalyResult(
                track_id=ids_l[i] if ids_l[i] >= 0 else None,
                speed=sp_l[i],
                zscore=float(z[i]),
                kind="fast" if z[i] > 0 else "slow",
            )
            for i in np.flatnonzero(flagged).tolist()
        ]

        self._hist_count.append(float(count))
        self._hist_density.append(dens)
        self._hist_risk.append(score)
        trails: list[np.ndarray] = [np.zeros((0, 2))] * n
        if len(tracked):
            for i, tr in zip(tracked.tolist(), store.trails(slots, c.trail_length), strict=False):
                trails[i] = tr
        render_data = RenderData(
            boxes=xyxy,
            track_ids=ids,
            speeds=speeds,
            states=states,
            feet=feet,
            directions=directions,
            trails=trails,
            pair_index=pairs,
            pair_distance_m=pair_d,
            count_history=np.array(self._hist_count),
            density_history=np.array(self._hist_density),
            risk_history=np.array(self._hist_risk),
            zone_polygons_px=[z.polygon_px for z in zones],
            line_points_px=[
                ((int(p1[0]), int(p1[1])), (int(p2[0]), int(p2[1])))
                for p1, p2 in self._lines.segments_px((w, h))
            ],
        )
        timings["analytics"] = (time.perf_counter() - ta) * 1e3
        timings["total"] = sum(v for k, v in timings.items() if k in ("detect_track", "analytics"))
        cap = geo.capacity
        return FrameResult(
            timestamp=t,
            frame_index=self.frame_index,
            frame_width=w,
            frame_height=h,
            calibrated=self._calibration is not None,
            count=count,
            tracked_count=len(tracked),
            density=dens,
            level_of_service=level_of_service(dens, c.los_bounds_pm2),
            density_level=density_level(
                dens, c.density_caution_pm2, c.density_warning_pm2, c.density_critical_pm2
            ),
            avg_speed=avg_speed,
            max_speed=max_speed,
            surge=surge_value,
            count_rate=surge.count_rate,
            density_rate=surge.density_rate,
            stagnation=stagnant,
            stagnation_score=stagnation_score,
            flow_in=sum(r.in_delta for r in line_results),
            flow_out=sum(r.out_delta for r in line_results),
            risk_score=score,
            risk_level=level,
            risk_components=components,
            num_clusters=clusters.n_clusters,
            clusters=cluster_results,
            proximity_pairs=len(pairs),
            flow_coherence=coherence,
            pressure=pressure,
            anomalies=anomalies,
            density_trend=density_trend,
            risk_trend=risk_trend,
            capacity_utilization=(count / cap * 100.0) if cap else None,
            zones=zone_results,
            lines=line_results,
            persons=persons,
            reid=self.reid,
            metres_per_pixel=None if self._calibration else self._mapper.metres_per_pixel((w, h)),
            timings_ms=timings,
            render_data=render_data,
        )

    # Convenience for callers that hold raw detections (e.g. tests of the tracking path).
    def track_detections(self, dets: Detections, frame_bgr: np.ndarray | None) -> np.ndarray:
        """Feed detections to this camera's tracker; returns track IDs (-1 = no ID yet)."""
        if self._tracker is None:
            self._tracker = PersonTracker(self._config.tracker_config, False)
        ids = np.full(len(dets), -1, dtype=np.int64)
        rows = self._tracker.update(dets, frame_bgr)
        if len(rows):
            ids[rows[:, 0]] = rows[:, 1]
        return ids
