"""``CrowdEngine``: one per camera. Detect → track → kinematics → crowd analytics → risk."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from .config import CameraGeometry, EngineConfig
from .geometry import Calibration
from .kinematics import TrackStore
from .people import PeopleDetector, filter_boxes
from .quality import ViewCheck, ViewMeter, count_quality
from .render import RenderOptions, render_frame
from .results import (
    CountQuality,
    FrameResult,
    PersonResult,
    RenderData,
    TilingState,
    TrackedBox,
)
from .stages import (
    CrowdMeasures,
    CrowdStage,
    KinematicsStage,
    Motion,
    Places,
    Risk,
    RiskStage,
    Setup,
    Stage,
    Surge,
    SurgeStage,
    Trends,
    TrendStage,
    ZonesLinesStage,
)
from .tracking import PersonTracker

__all__ = ["CrowdEngine", "filter_boxes"]

if TYPE_CHECKING:
    from .detector import Detections, Detector

log = logging.getLogger(__name__)

FAST_SPEED_MPS = 1.5  # box colour thresholds (the original's)
MOVING_SPEED_MPS = 0.8
STATES = ("normal", "untracked", "anomaly", "fast", "moving")

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
        self._setup = Setup.build(self._config, self._geometry)
        # The analytics, in the order they run (each reads only the outputs of those before).
        self._kinematics = KinematicsStage(self._setup)
        self._crowd = CrowdStage(self._setup)
        self._surge = SurgeStage(self._setup)
        self._places = ZonesLinesStage(self._setup)
        self._risk = RiskStage(self._setup)
        self._trend = TrendStage(self._setup)
        self._stages: tuple[Stage, ...] = (
            self._kinematics,
            self._crowd,
            self._surge,
            self._places,
            self._risk,
            self._trend,
        )
        self._tracker: PersonTracker | None = None
        self._reid_logged = False
        self._imgsz_logged = False
        self._people = (
            PeopleDetector(detector, self._config, self._setup.exclusions) if detector is not None else None
        )
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
        return self._setup.calibration

    @property
    def _store(self) -> TrackStore:
        """The track histories (read by tests)."""
        return self._kinematics.store

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
            if self._people is not None:
                self._people.configure(config)
                self._imgsz_logged = False
            self._view.blur_min, self._view.dark_max = config.quality_blur_min, config.quality_dark_max
        if geometry is not None:
            self._geometry = geometry
        if config is not None or geometry is not None:
            self._setup = Setup.build(self._config, self._geometry)
            for stage in self._stages:
                stage.reconfigure(self._setup)
            if self._people is not None:
                self._people.exclusions = self._setup.exclusions

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

    def reset(self) -> None:
        """New tracker and empty history (e.g. after a source reconnect).

        Counting-line totals are kept (they are the camera's running totals); use
        ``reset_counts`` to zero them.
        """
        self._apply_pending()
        self._tracker = self._new_tracker()
        for stage in self._stages:
            stage.reset()
        self._last_t: float | None = None
        self.frame_index = 0
        self._last_good = None
        self._view.reset()
        if self._people is not None:
            self._people.reset()

    def reset_counts(self) -> None:
        self._places.reset_counts()

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
        result.tiling = TilingState(
            c.tiling, found.tiled, found.grid, people.policy.reason, found.mirrored
        )
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
        keep = self._setup.exclusions.keep(xyxy, frame_size)  # as process() does before tracking
        return self._analyse(xyxy[keep], conf[keep], ids[keep], float(timestamp_s), frame_size, {})

    def render(
        self, frame_bgr: np.ndarray, result: FrameResult, options: RenderOptions | None = None
    ) -> np.ndarray:
        """Annotated copy of ``frame_bgr`` (the input is never modified)."""
        return render_frame(frame_bgr, result, options, self._config)

    # -- analytics ---------------------------------------------------------------------------
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
        if self._last_t is not None and t < self._last_t - 1e-6:
            # The source clock went backwards (a file looped, a stream restarted): old history
            # would give nonsense speeds and rates.
            log.info("source time went back from %.3f to %.3f s: history cleared", self._last_t, t)
            for stage in self._stages:
                if stage is self._trend:
                    self._trend.reset(keep_history=True)  # the sparklines run on
                else:
                    stage.reset()
        self._last_t = t
        self.frame_index += 1
        size = (int(frame_size[0]), int(frame_size[1]))
        xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        motion = self._kinematics.update(xyxy, ids, t, size)
        crowd = self._crowd.update(motion)
        surge = self._surge.update(t, crowd.count, crowd.density)
        places = self._places.update(motion, crowd, t, size)
        risk = self._risk.update(crowd, surge, motion)
        trends = self._trend.update(t, crowd.count, crowd.density, risk.score)
        persons, states = person_results(motion, conf, crowd.flagged)
        render_data = RenderData(
            boxes=xyxy,
            track_ids=ids,
            speeds=motion.speeds,
            states=states,
            feet=motion.feet,
            directions=motion.directions,
            trails=motion.trails,
            pair_index=crowd.pairs,
            pair_distance_m=crowd.pair_distance_m,
            count_history=trends.count_history,
            density_history=trends.density_history,
            risk_history=trends.risk_history,
            zone_polygons_px=places.zone_polygons_px,
            line_points_px=places.line_points_px,
            line_arrows_px=places.line_arrows_px,
            exclusion_polygons_px=[
                np.asarray(e.polygon, np.float64) * np.array(size, np.float64)
                for e in self._geometry.exclusions
            ],
        )
        timings["analytics"] = (time.perf_counter() - ta) * 1e3
        timings["total"] = sum(v for k, v in timings.items() if k in ("detect_track", "analytics"))
        return self._frame_result(
            t, size, motion, crowd, surge, places, risk, trends, persons, timings, render_data
        )

    def _frame_result(
        self,
        t: float,
        size: tuple[int, int],
        motion: Motion,
        crowd: CrowdMeasures,
        surge: Surge,
        places: Places,
        risk: Risk,
        trends: Trends,
        persons: list[PersonResult],
        timings: dict[str, float],
        render_data: RenderData,
    ) -> FrameResult:
        calibrated = self._setup.calibration is not None
        return FrameResult(
            timestamp=t,
            frame_index=self.frame_index,
            frame_width=size[0],
            frame_height=size[1],
            calibrated=calibrated,
            count=crowd.count,
            tracked_count=len(motion.tracked),
            density=crowd.density,
            level_of_service=crowd.level_of_service,
            density_level=crowd.density_level,
            avg_speed=motion.avg_speed,
            max_speed=motion.max_speed,
            surge=surge.surge,
            count_rate=surge.count_rate,
            density_rate=surge.density_rate,
            stagnation=crowd.stagnant,
            stagnation_score=crowd.stagnation_score,
            flow_in=places.flow_in,
            flow_out=places.flow_out,
            risk_score=risk.score,
            risk_level=risk.level,
            risk_components=risk.components,
            num_clusters=len(crowd.clusters),
            clusters=crowd.clusters,
            proximity_pairs=len(crowd.pairs),
            flow_coherence=motion.coherence,
            pressure=crowd.pressure,
            anomalies=crowd.anomalies,
            density_trend=trends.density,
            risk_trend=trends.risk,
            capacity_utilization=crowd.capacity_utilization,
            zones=places.zones,
            lines=places.lines,
            persons=persons,
            reid=self.reid,
            metres_per_pixel=None if calibrated else self._setup.mapper.metres_per_pixel(size),
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


def person_results(
    m: Motion, conf: np.ndarray, flagged: np.ndarray
) -> tuple[list[PersonResult], list[str]]:
    """One ``PersonResult`` per box, and each person's state (the box colour)."""
    # State codes by rising priority, each overwriting the last.
    code = np.zeros(len(m.ids), dtype=np.int8)
    code[m.known & (m.speeds > MOVING_SPEED_MPS)] = 4
    code[m.known & (m.speeds > FAST_SPEED_MPS)] = 3
    code[flagged] = 2
    code[m.ids < 0] = 1
    states = [STATES[k] for k in code.tolist()]
    track_ids = m.ids.tolist()
    if len(m.tracked) < len(track_ids):
        track_ids = [i if i >= 0 else None for i in track_ids]
    speeds = m.speeds.tolist()
    if not m.known.all():
        speeds = [s if k else None for s, k in zip(speeds, m.known.tolist(), strict=True)]
    conf_l = np.asarray(conf, dtype=np.float64).tolist()
    persons = list(
        map(
            PersonResult,
            track_ids,
            zip(*m.xyxy.T.tolist(), strict=True),
            conf_l,
            zip(*m.feet.T.tolist(), strict=True),
            zip(*m.world.T.tolist(), strict=True),
            speeds,
            zip(*m.directions.T.tolist(), strict=True),
            flagged.tolist(),
            states,
        )
    )
    return persons, states
