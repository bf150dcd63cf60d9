"""Per-second Metric rows: aggregate a camera's frames by second of video time, write in batches.

One row per camera (zone empty) and one per zone for every second of video time that had
processed frames. Levels (counts, density, speeds, coherence) are averaged over the
second; what matters for safety (peak count, max speed, surge, risk, pressure) keeps its
peak, so a one-frame spike is never averaged away. Count quality is the worst of the
second (with the union of its reasons and the largest undercount factor): one unreliable
frame makes the second's count unreliable. Zone rows carry the camera's quality.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction

from analytics import rollups
from analytics.models import Metric, RiskLevel
from cameras.models import Zone
from core import count_quality as quality

log = logging.getLogger(__name__)

_LEVEL_RANK = {level: i for i, level in enumerate(RiskLevel.values)}
_TRENDS = {"rising", "stable", "falling"}


def _finite(value: Any, default: float = 0.0) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return default
    return v if math.isfinite(v) else default


def _unit(value: float) -> float:
    return min(max(value, 0.0), 1.0)


def _level(value: str) -> str:
    return value if value in _LEVEL_RANK else RiskLevel.SAFE


def _trend(trend: Any) -> str:
    label = getattr(trend, "label", trend)
    return label if label in _TRENDS else "stable"


@dataclass
class _Bucket:
    """Running aggregate of one second for the camera or one zone."""

    frames: int = 0
    count_sum: float = 0.0
    count_max: int = 0
    density_sum: float = 0.0
    speed_sum: float = 0.0
    max_speed: float = 0.0
    surge: float = 0.0
    flow_in: int = 0
    flow_out: int = 0
    risk_score: float = 0.0
    risk_level: str = RiskLevel.SAFE
    clusters: int = 0
    coherence_sum: float = 0.0
    pressure: float = 0.0
    anomalies: int = 0
    density_trend: str = "stable"
    risk_trend: str = "stable"
    calibrated: bool = False
    count_quality: str = quality.OK
    quality_reasons: set[str] = field(default_factory=set)
    undercount_factor: float | None = None
    tiled: bool = False

    def add_quality(self, q: dict[str, Any]) -> None:
        """Fold one frame's `core.count_quality.frame_quality` into the second."""
        self.count_quality = quality.worst(self.count_quality, q["level"])
        self.quality_reasons.update(q["reasons"])
        factor = q["undercount_factor"]
        if factor is not None and (self.undercount_factor is None or factor > self.undercount_factor):
            self.undercount_factor = factor
        self.tiled = self.tiled or q["tiled"]

    def add(self, *, count: int, density: float, avg_speed: float, risk_score: float, risk_level: str,
            max_speed: float = 0.0, surge: float = 0.0, flow_in: int = 0, flow_out: int = 0,
            clusters: int = 0, coherence: float = 0.0, pressure: float = 0.0, anomalies: int = 0,
            density_trend: str = "stable", risk_trend: str = "stable", calibrated: bool = False) -> None:
        self.frames += 1
        self.count_sum += count
        self.count_max = max(self.count_max, count)
        self.density_sum += _finite(density)
        self.speed_sum += _finite(avg_speed)
        self.max_speed = max(self.max_speed, _finite(max_speed))
        self.surge = max(self.surge, _unit(_finite(surge)))
        self.flow_in += flow_in
        self.flow_out += flow_out
        score = _unit(_finite(risk_score))
        level = _level(risk_level)
        if _LEVEL_RANK[level] > _LEVEL_RANK[self.risk_level] or (
            level == self.risk_level and score > self.risk_score
        ):
            self.risk_level = level
        self.risk_score = max(self.risk_score, score)
        self.clusters = max(self.clusters, clusters)
        self.coherence_sum += _unit(_finite(coherence))
        self.pressure = max(self.pressure, max(_finite(pressure), 0.0))  # s⁻², unbounded
        self.anomalies = max(self.anomalies, anomalies)
        self.density_trend, self.risk_trend = density_trend, risk_trend  # the latest
        self.calibrated = calibrated

    def to_metric(self, camera_id: int, zone_id: int | None, timestamp: datetime) -> Metric:
        n = max(self.frames, 1)
        return Metric(
            camera_id=camera_id,
            zone_id=zone_id,
            timestamp=timestamp,
            frames=min(self.frames, 32767),
            count=round(self.count_sum / n),
            count_max=self.count_max,
            density=max(self.density_sum / n, 0.0),
            avg_speed=max(self.speed_sum / n, 0.0),
            max_speed=self.max_speed,
            surge=self.surge,
            flow_in=self.flow_in,
            flow_out=self.flow_out,
            risk_score=self.risk_score,
            risk_level=self.risk_level,
            clusters=self.clusters,
            flow_coherence=_unit(self.coherence_sum / n),
            pressure=self.pressure,
            anomalies=self.anomalies,
            density_trend=self.density_trend,
            risk_trend=self.risk_trend,
            calibrated=self.calibrated,
            count_quality=self.count_quality,
            quality_reasons=quality.clean_reasons(self.quality_reasons),
            undercount_factor=self.undercount_factor,
            tiled=self.tiled,
        )


@dataclass
class MetricsWriter:
    """Feed every processed frame with `add(result)`; rows go to the database in batches.

    `origin` is the UTC datetime of source time 0: the start of a file's analysis, or the
    epoch for live sources stamped with wall-clock time.
    """

    camera_id: int
    origin: datetime
    batch_size: int = 10  # rows (seconds) buffered before a write
    _second: int | None = None
    _camera: _Bucket = field(default_factory=_Bucket)
    _zones: dict[int, _Bucket] = field(default_factory=dict)
    _pending: list[Metric] = field(default_factory=list)
    _pending_until: int | None = None
    rows_written: int = 0
    # The source second after the last one written: where a restarted analysis goes on.
    written_until: int | None = None
    # Fencing (cameras.runtime.leases): called in the write's transaction; False means another
    # runner owns the camera now, so this writer drops its rows and writes nothing more.
    fence: Callable[[], bool] | None = None
    fenced: bool = False
    # Called in the write's transaction with the new `written_until` (the runner stores a file's
    # position there): rows and position commit together, so a crash between the two cannot
    # leave rows whose position is unknown (the next runner started the file over).
    on_written: Callable[[int], None] | None = None
    # The camera's zones now (from the runner's per-camera context): rows of zones deleted
    # meanwhile are dropped. None writes every zone's rows.
    zone_ids: set[int] | None = None

    def add(self, result: Any) -> None:
        """Add one engine FrameResult (its `timestamp` is source seconds)."""
        if self.fenced:
            return
        second = math.floor(_finite(result.timestamp))
        if self._second is not None and second != self._second:
            self._close_second()
        self._second = second
        self._camera.add(
            count=result.count, density=result.density, avg_speed=result.avg_speed,
            max_speed=result.max_speed, surge=result.surge, flow_in=result.flow_in,
            flow_out=result.flow_out, risk_score=result.risk_score, risk_level=result.risk_level,
            clusters=result.num_clusters, coherence=result.flow_coherence, pressure=result.pressure,
            anomalies=len(result.anomalies), density_trend=_trend(result.density_trend),
            risk_trend=_trend(result.risk_trend), calibrated=result.calibrated,
        )
        frame_quality = quality.frame_quality(result)
        self._camera.add_quality(frame_quality)
        for zone in result.zones:
            if not isinstance(zone.id, int):
                continue
            bucket = self._zones.setdefault(zone.id, _Bucket())
            bucket.add(
                count=zone.count, density=zone.density, avg_speed=zone.avg_speed,
                risk_score=zone.risk_score, risk_level=zone.risk_level, calibrated=result.calibrated,
            )
            bucket.add_quality(frame_quality)  # quality is per camera: zones carry the camera's
        if len(self._pending) >= self.batch_size:
            self.flush_pending()

    def _close_second(self) -> None:
        if self._second is None or not self._camera.frames:
            return
        ts = self.origin + timedelta(seconds=self._second)
        self._pending.append(self._camera.to_metric(self.camera_id, None, ts))
        self._pending.extend(b.to_metric(self.camera_id, zid, ts) for zid, b in self._zones.items())
        self._pending_until = self._second + 1
        self._camera, self._zones = _Bucket(), {}

    def flush_pending(self) -> int:
        """Write the completed seconds; rows of zones no longer in `zone_ids` are dropped."""
        if not self._pending:
            return 0
        if self.zone_ids is not None:
            self._pending = [m for m in self._pending if m.zone_id is None or m.zone_id in self.zone_ids]
        rows, self._pending = self._pending, []
        if self.fenced:
            return 0
        try:
            try:
                written = self._write(rows)
            except IntegrityError:
                # A zone deleted since the runner's last heartbeat: its rows break the foreign
                # key. Keep the rows of the zones that still exist and write again.
                rows = self._rows_of_live_zones(rows)
                written = self._write(rows)
        except DatabaseError:  # a database blip (connection killed): the next flush retries them
            self._pending = rows + self._pending
            raise
        if not written:
            return 0
        self.written_until = self._pending_until
        rollups.rows_written(rows)
        self.rows_written += len(rows)
        return len(rows)

    def _write(self, rows: list[Metric]) -> bool:
        """Rows and file position in one transaction, fenced; False when fenced out."""
        with transaction.atomic():
            if self.fence is not None and not self.fence():
                self.fenced = True
                log.warning("Camera %s: fenced out (another runner took over); %d rows dropped",
                            self.camera_id, len(rows))
                return False
            _insert(rows)
            if self.on_written is not None and self._pending_until is not None:
                self.on_written(self._pending_until)
        return True

    def _rows_of_live_zones(self, rows: list[Metric]) -> list[Metric]:
        zone_ids = {m.zone_id for m in rows if m.zone_id is not None}
        alive = set(
            Zone.objects.filter(camera_id=self.camera_id, pk__in=zone_ids).values_list("pk", flat=True)
        )
        if self.zone_ids is not None:
            self.zone_ids -= zone_ids - alive
        return [m for m in rows if m.zone_id is None or m.zone_id in alive]

    def close(self) -> int:
        """Close the current second (even if partial) and write everything."""
        self._close_second()
        self._second = None
        return self.flush_pending()

    def discard(self) -> None:
        """Drop what is buffered and write nothing more (a runner that lost its lease)."""
        self.fenced = True
        self._pending, self._second = [], None
        self._camera, self._zones = _Bucket(), {}


def _insert(rows: list[Metric]) -> None:
    """Insert the rows; seconds already stored (unique per camera, zone and second) keep their
    first row, and the rest of the batch is written all the same."""
    try:
        with transaction.atomic():  # a savepoint: the fallback below runs in a clean state
            Metric.objects.bulk_create(rows, batch_size=500)
    except IntegrityError:
        log.warning("Camera %s: some of these seconds were already stored; kept the first rows",
                    rows[0].camera_id)
        Metric.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
