"""Mergeable aggregates of Metric rows (15-minute *partials*) and the queries that compute them.

Shared by the read side (`analytics.selectors`) and the service that seals hourly rollups
(`analytics.services`). Everything here reads; nothing writes. Plain ORM (database functions,
no SQL dialect), so it gives the same answers on PostgreSQL and SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from django.db.models import Count, FloatField, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, ExtractMinute, ExtractSecond, Floor, TruncHour, TruncMinute
from django.utils import timezone

from analytics.models import CountQuality, Metric, RiskLevel
from core import count_quality as quality

PARTIAL_SECONDS = 900
# An hour is sealed (its rollup may be stored) this long after it ends: late rows of a
# metrics flush have landed by then.
SEAL_SECONDS = 15 * 60


@dataclass(slots=True)
class Partial:
    """Aggregates of a set of Metric rows that can be merged without losing anything."""

    n: int = 0
    sum_count: float = 0.0
    max_count: int = 0
    sum_density: float = 0.0
    max_density: float = 0.0
    sum_speed: float = 0.0
    max_speed: float = 0.0
    sum_risk: float = 0.0
    max_risk: float = 0.0
    max_surge: float = 0.0
    flow_in: int = 0
    flow_out: int = 0
    n_caution: int = 0
    n_warning: int = 0
    n_critical: int = 0
    # Count quality (appended last: hours stored before it existed load with these defaults,
    # which is right, their rows were all "ok").
    n_degraded: int = 0
    n_unreliable: int = 0
    max_undercount: float = 0.0  # 0: no factor known
    n_tiled: int = 0

    def merge(self, other: Partial) -> Partial:
        if not other.n:
            return self
        if not self.n:
            return Partial(*other.as_tuple())
        return Partial(
            self.n + other.n,
            self.sum_count + other.sum_count,
            max(self.max_count, other.max_count),
            self.sum_density + other.sum_density,
            max(self.max_density, other.max_density),
            self.sum_speed + other.sum_speed,
            max(self.max_speed, other.max_speed),
            self.sum_risk + other.sum_risk,
            max(self.max_risk, other.max_risk),
            max(self.max_surge, other.max_surge),
            self.flow_in + other.flow_in,
            self.flow_out + other.flow_out,
            self.n_caution + other.n_caution,
            self.n_warning + other.n_warning,
            self.n_critical + other.n_critical,
            self.n_degraded + other.n_degraded,
            self.n_unreliable + other.n_unreliable,
            max(self.max_undercount, other.max_undercount),
            self.n_tiled + other.n_tiled,
        )

    def as_tuple(self) -> tuple:
        return tuple(getattr(self, f.name) for f in fields(self))

    @property
    def worst_level(self) -> str:
        for level, n in (
            (RiskLevel.CRITICAL, self.n_critical),
            (RiskLevel.WARNING, self.n_warning),
            (RiskLevel.CAUTION, self.n_caution),
        ):
            if n:
                return level.value
        return RiskLevel.SAFE.value

    @property
    def worst_quality(self) -> str:
        if self.n_unreliable:
            return quality.UNRELIABLE
        return quality.DEGRADED if self.n_degraded else quality.OK

    @property
    def seconds_by_quality(self) -> dict[str, int]:
        return {
            quality.OK: self.n - self.n_degraded - self.n_unreliable,
            quality.DEGRADED: self.n_degraded,
            quality.UNRELIABLE: self.n_unreliable,
        }

    @property
    def undercount_factor(self) -> float | None:
        return round(float(self.max_undercount), 2) if self.max_undercount >= 1.0 else None


_AGGREGATES = {
    "n": Count("id"),
    "sum_count": Sum("count"),
    "max_count": Max("count"),
    "max_count_peak": Max("count_max"),
    "sum_density": Sum("density"),
    "max_density": Max("density"),
    "sum_speed": Sum("avg_speed"),
    "max_speed": Max("max_speed"),
    "sum_risk": Sum("risk_score"),
    "max_risk": Max("risk_score"),
    "max_surge": Max("surge"),
    "flow_in": Sum("flow_in"),
    "flow_out": Sum("flow_out"),
    "n_caution": Count("id", filter=Q(risk_level=RiskLevel.CAUTION)),
    "n_warning": Count("id", filter=Q(risk_level=RiskLevel.WARNING)),
    "n_critical": Count("id", filter=Q(risk_level=RiskLevel.CRITICAL)),
    "n_degraded": Count("id", filter=Q(count_quality=CountQuality.DEGRADED)),
    "n_unreliable": Count("id", filter=Q(count_quality=CountQuality.UNRELIABLE)),
    "max_undercount": Max("undercount_factor"),
    "n_tiled": Count("id", filter=Q(tiled=True)),
}


def _partial_from_row(row: dict) -> Partial:
    return Partial(
        n=int(row["n"] or 0),
        sum_count=float(row["sum_count"] or 0),
        max_count=int(max(row["max_count"] or 0, row["max_count_peak"] or 0)),
        sum_density=float(row["sum_density"] or 0),
        max_density=float(row["max_density"] or 0),
        sum_speed=float(row["sum_speed"] or 0),
        max_speed=float(row["max_speed"] or 0),
        sum_risk=float(row["sum_risk"] or 0),
        max_risk=float(row["max_risk"] or 0),
        max_surge=float(row["max_surge"] or 0),
        flow_in=int(row["flow_in"] or 0),
        flow_out=int(row["flow_out"] or 0),
        n_caution=int(row["n_caution"] or 0),
        n_warning=int(row["n_warning"] or 0),
        n_critical=int(row["n_critical"] or 0),
        n_degraded=int(row["n_degraded"] or 0),
        n_unreliable=int(row["n_unreliable"] or 0),
        max_undercount=float(row["max_undercount"] or 0),
        n_tiled=int(row["n_tiled"] or 0),
    )


def zone_id_of(zone: object) -> int | None:
    """A zone's id from a Zone, an id or None (the whole camera)."""
    return getattr(zone, "pk", zone)  # type: ignore[return-value]


def rows_of(camera_id: int, zone_id: int | None) -> QuerySet:
    """Metric rows of the camera (zone None: whole-camera rows)."""
    qs = Metric.objects.filter(camera_id=camera_id)
    return qs.filter(zone__isnull=True) if zone_id is None else qs.filter(zone_id=zone_id)


def grouped(qs: QuerySet, step: int) -> Iterable[tuple[datetime, Partial]]:
    """Rows grouped into UTC buckets of `step` seconds (a divisor of an hour or a minute)."""
    if step < 60:
        base, part, unit = TruncMinute("timestamp", tzinfo=UTC), ExtractSecond("timestamp", tzinfo=UTC), 1
    else:
        base, part, unit = TruncHour("timestamp", tzinfo=UTC), ExtractMinute("timestamp", tzinfo=UTC), 60
    per = step // unit
    slot = Floor(Cast(part, FloatField()) / Value(float(per)))
    rows = qs.annotate(b=base, s=slot).values("b", "s").annotate(**_AGGREGATES).order_by()
    for row in rows:
        at = row["b"].astimezone(UTC) + timedelta(seconds=int(row["s"]) * step)
        yield at, _partial_from_row(row)


def raw_partials(qs: QuerySet, start: datetime, end: datetime) -> dict[datetime, Partial]:
    """15-minute partials of the rows of `qs` in [start, end), computed from the rows."""
    if start >= end:
        return {}
    out: dict[datetime, Partial] = {}
    for at, partial in grouped(qs.filter(timestamp__gte=start, timestamp__lt=end), PARTIAL_SECONDS):
        out[at] = out.get(at, Partial()).merge(partial)
    return out


def floor_to(dt: datetime, step: int) -> datetime:
    epoch = int(dt.timestamp())
    return datetime.fromtimestamp(epoch - epoch % step, UTC)


def ceil_to(dt: datetime, step: int) -> datetime:
    floored = floor_to(dt, step)
    return floored if floored == dt else floored + timedelta(seconds=step)


def sealed_before(now: datetime | None = None) -> datetime:
    """Hours ending at or before this instant are sealed."""
    return (now or timezone.now()).astimezone(UTC) - timedelta(seconds=SEAL_SECONDS)


def whole_hours(start: datetime, end: datetime) -> list[datetime]:
    """Starts of the whole UTC hours inside [start, end)."""
    first, hours = ceil_to(start, 3600), []
    while first + timedelta(hours=len(hours) + 1) <= end:
        hours.append(first + timedelta(hours=len(hours)))
    return hours


def hour_runs(hours: list[datetime], *, max_runs: int = 8) -> list[tuple[datetime, datetime]]:
    """[start, end) spans of consecutive hours (sorted); one span over all beyond `max_runs`."""
    runs: list[tuple[datetime, datetime]] = []
    for hour in hours:
        if runs and runs[-1][1] == hour:
            runs[-1] = (runs[-1][0], hour + timedelta(hours=1))
        else:
            runs.append((hour, hour + timedelta(hours=1)))
    if len(runs) > max_runs:  # one scan beats many when the gaps are scattered
        return [(runs[0][0], runs[-1][1])]
    return runs
