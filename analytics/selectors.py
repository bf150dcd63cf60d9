"""Read-side queries over Metric rows: ranges, history, summary, time buckets.

Used by the metrics API, the exports and the dashboard. Everything here is plain ORM
(database functions, no SQL dialect), so it gives the same answers on PostgreSQL and SQLite.

Speed: a 30-day range of 1 Hz data is 2.6 million rows, too many to scan on every request.
Whole ranges are therefore composed from 15-minute *partials* (count, sums, peaks), stored in
the database per camera, zone and UTC hour once that hour is sealed (over for
`SEAL_SECONDS`; `analytics.rollups`); edges and unsealed hours are read from the table. Every
tz offset in use is a multiple of 15 minutes, so display-zone hours, days and weeks are unions
of partials. Writers of Metric rows call `rollups.rows_written()`, which drops the stored
hours they write into, so stored figures never go stale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta, tzinfo

from django.core.exceptions import ValidationError
from django.db.models import Count, FloatField, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, ExtractMinute, ExtractSecond, Floor, TruncHour, TruncMinute
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from analytics import quality, rollups
from analytics.models import CountQuality, Metric, RiskLevel

PRESETS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
DEFAULT_PRESET = "24h"
MAX_RANGE = timedelta(days=366)
BUCKETS = ("hourly", "daily", "weekly")
PARTIAL_SECONDS = 900
SEAL_SECONDS = 15 * 60
# Bucket sizes history may use (seconds); >= 900 ones are built from stored partials.
_HISTORY_STEPS = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
_LEVELS = (RiskLevel.SAFE, RiskLevel.CAUTION, RiskLevel.WARNING, RiskLevel.CRITICAL)


# --- ranges ---------------------------------------------------------------------------------


_SPACE_OFFSET = re.compile(r"(\d) (\d\d:?\d\d)$")


def _parse_instant(value, name: str, *, end: bool) -> datetime | None:
    """A datetime from a datetime, a date or an ISO string; naive values are display-zone time.

    A bare date means the start of that day (or, for an end, the start of the next day).
    """
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, datetime.min.time()) + (timedelta(days=1) if end else timedelta())
    else:
        # A '+' of an offset arrives as a space when the query string was not encoded.
        text = _SPACE_OFFSET.sub(r"\1+\2", str(value).strip())
        try:
            parsed = parse_datetime(text)
            if parsed is None:
                day = parse_date(text)
                if day is None:
                    raise ValueError(text)
                parsed = datetime.combine(day, datetime.min.time()) + (
                    timedelta(days=1) if end else timedelta()
                )
        except (ValueError, TypeError, OverflowError) as exc:
            raise ValidationError(
                {name: f"'{value}' is not a date or time; use ISO 8601, e.g. 2025-01-31T18:00:00Z."}
            ) from exc
    if not datetime(1970, 1, 2) <= parsed.replace(tzinfo=None) <= datetime(9000, 1, 1):
        raise ValidationError({name: f"'{value}' is out of range."})
    if timezone.is_naive(parsed):
        try:
            parsed = timezone.make_aware(parsed, timezone.get_current_timezone())
        except Exception as exc:  # noqa: BLE001 - a non-existent local time (DST gap)
            raise ValidationError({name: f"'{value}' does not exist in the display time zone."}) from exc
    return parsed.astimezone(UTC)


def resolve_range(preset: str | None, start=None, end=None) -> tuple[datetime, datetime]:
    """The UTC [start, end) of a request: a preset (1h/24h/7d/30d, ending now) or explicit bounds.

    With only `start`, the range ends now; with only `end`, it covers the 24 h before it;
    with nothing, the last 24 h. Raises ValidationError with a field dict on bad input.
    """
    if preset not in (None, ""):
        if preset not in PRESETS:
            raise ValidationError({"preset": f"Unknown preset '{preset}'; use one of {', '.join(PRESETS)}."})
        if start not in (None, "") or end not in (None, ""):
            raise ValidationError({"preset": "Give either a preset or start/end, not both."})
        now = timezone.now().astimezone(UTC)
        return now - PRESETS[preset], now
    start_dt = _parse_instant(start, "start", end=False)
    end_dt = _parse_instant(end, "end", end=True)
    if end_dt is None:
        end_dt = timezone.now().astimezone(UTC)
    if start_dt is None:
        start_dt = end_dt - PRESETS[DEFAULT_PRESET]
    if start_dt >= end_dt:
        raise ValidationError({"end": "The end must be after the start."})
    if end_dt - start_dt > MAX_RANGE:
        raise ValidationError({"start": f"A range may cover at most {MAX_RANGE.days} days."})
    return start_dt, end_dt


# --- partial aggregates -----------------------------------------------------------------------


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
        return _round(self.max_undercount, 2) if self.max_undercount >= 1.0 else None


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


def _zone_id(zone) -> int | None:
    return getattr(zone, "pk", zone)


def metrics_queryset(camera, start: datetime, end: datetime, *, zone=None) -> QuerySet:
    """Metric rows of the camera (zone None: whole-camera rows) in [start, end)."""
    qs = Metric.objects.filter(camera=camera, timestamp__gte=start, timestamp__lt=end)
    zone_id = _zone_id(zone)
    return qs.filter(zone__isnull=True) if zone_id is None else qs.filter(zone_id=zone_id)


def _grouped(qs: QuerySet, step: int) -> Iterable[tuple[datetime, Partial]]:
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


def _raw_partials(qs: QuerySet, start: datetime, end: datetime) -> dict[datetime, Partial]:
    if start >= end:
        return {}
    out: dict[datetime, Partial] = {}
    for at, partial in _grouped(qs.filter(timestamp__gte=start, timestamp__lt=end), PARTIAL_SECONDS):
        out[at] = out.get(at, Partial()).merge(partial)
    return out


def _floor(dt: datetime, step: int) -> datetime:
    epoch = int(dt.timestamp())
    return datetime.fromtimestamp(epoch - epoch % step, UTC)


def _ceil(dt: datetime, step: int) -> datetime:
    floored = _floor(dt, step)
    return floored if floored == dt else floored + timedelta(seconds=step)


def _sealed_before() -> datetime:
    return timezone.now().astimezone(UTC) - timedelta(seconds=SEAL_SECONDS)


def metric_partials(camera, start: datetime, end: datetime, *, zone=None) -> dict[datetime, Partial]:
    """15-minute UTC partials covering exactly [start, end) (edge partials cover less)."""
    qs = metrics_queryset(camera, start, end, zone=zone)
    a, b = _ceil(start, PARTIAL_SECONDS), _floor(end, PARTIAL_SECONDS)
    if a >= b:
        return _raw_partials(qs, start, end)
    out = _raw_partials(qs, start, a)
    out.update(_raw_partials(qs, b, end))
    first, limit = _ceil(a, 3600), min(b, _floor(_sealed_before(), 3600))
    hours: list[datetime] = []
    while first + timedelta(hours=len(hours) + 1) <= limit:
        hours.append(first + timedelta(hours=len(hours)))
    if not hours:
        out.update(_raw_partials(qs, a, b))
        return out
    out.update(_raw_partials(qs, a, hours[0]))
    out.update(_raw_partials(qs, hours[-1] + timedelta(hours=1), b))
    zone_id = _zone_id(zone)
    cached = {
        hour: {at: Partial(*values) for at, values in parts.items()}
        for hour, parts in rollups.load(camera.pk, zone_id, hours[0], hours[-1]).items()
    }
    missing = [h for h in hours if h not in cached]
    if missing:
        newest_id = rollups.newest_row_id()
        fresh: dict[datetime, dict[datetime, Partial]] = {h: {} for h in missing}
        for at, partial in _raw_partials(qs, missing[0], missing[-1] + timedelta(hours=1)).items():
            hour = _floor(at, 3600)
            if hour in fresh:  # partials of stored hours in between are not needed
                fresh[hour][at] = partial
        as_tuples = {h: {at: p.as_tuple() for at, p in parts.items()} for h, parts in fresh.items()}
        rollups.store(camera.pk, zone_id, as_tuples)
        rollups.drop_written_since(camera.pk, zone_id, newest_id)
        cached.update(fresh)
    for parts in cached.values():
        out.update(parts)
    return out


# --- public queries ------------------------------------------------------------------------------


def _round(value: float, digits: int) -> float:
    return round(float(value), digits)


def _point(at: datetime, p: Partial, tz: tzinfo) -> dict:
    n = p.n or 1
    return {
        "timestamp": at.astimezone(tz).isoformat(),
        "samples": p.n,
        "count": _round(p.sum_count / n, 2),
        "count_max": p.max_count,
        "density": _round(p.sum_density / n, 3),
        "density_max": _round(p.max_density, 3),
        "avg_speed": _round(p.sum_speed / n, 2),
        "max_speed": _round(p.max_speed, 2),
        "risk_score": _round(p.sum_risk / n, 3),
        "risk_max": _round(p.max_risk, 3),
        "risk_level": p.worst_level,
        "flow_in": p.flow_in,
        "flow_out": p.flow_out,
        "count_quality": p.worst_quality,
        "quality_seconds": p.seconds_by_quality,
        "undercount_factor": p.undercount_factor,
        "estimated_count": quality.estimate(p.sum_count / n, p.undercount_factor),
        "tiled": bool(p.n_tiled),
    }


def history_step(start: datetime, end: datetime, max_points: int) -> int:
    """The bucket size (s) history uses: 1 (raw rows) or the smallest step giving <= max_points."""
    span = (end - start).total_seconds()
    for step in _HISTORY_STEPS:
        if span / step <= max_points:
            return step
    return _HISTORY_STEPS[-1]


def metrics_history(
    camera, start: datetime, end: datetime, *, zone=None, max_points: int = 1000
) -> list[dict]:
    """Points over [start, end), oldest first; long ranges averaged into at most ~max_points buckets.

    Each point has the bucket start (display zone), averages, peaks, the worst risk level
    and the number of seconds (samples) it covers.
    """
    max_points = max(10, min(int(max_points), 10_000))
    tz = timezone.get_current_timezone()
    step = history_step(start, end, max_points)
    qs = metrics_queryset(camera, start, end, zone=zone)
    if step == 1:
        return [_row_point(m, tz) for m in qs.order_by("timestamp")[: max_points * 2]]
    buckets: dict[datetime, Partial] = {}
    if step >= PARTIAL_SECONDS:
        for at, partial in metric_partials(camera, start, end, zone=zone).items():
            key = _floor(at, step)
            buckets[key] = buckets.get(key, Partial()).merge(partial)
    else:
        for at, partial in _grouped(qs, step):
            buckets[at] = buckets.get(at, Partial()).merge(partial)
    return [_point(at, buckets[at], tz) for at in sorted(buckets) if buckets[at].n]


def _row_point(m: Metric, tz: tzinfo) -> dict:
    return {
        "timestamp": m.timestamp.astimezone(tz).isoformat(),
        "samples": 1,
        "count": m.count,
        "count_max": max(m.count, m.count_max),
        "density": _round(m.density, 3),
        "density_max": _round(m.density, 3),
        "avg_speed": _round(m.avg_speed, 2),
        "max_speed": _round(m.max_speed, 2),
        "risk_score": _round(m.risk_score, 3),
        "risk_max": _round(m.risk_score, 3),
        "risk_level": m.risk_level,
        "flow_in": m.flow_in,
        "flow_out": m.flow_out,
        "count_quality": m.count_quality,
        "quality_seconds": {level: int(level == m.count_quality) for level in quality.LEVELS},
        "quality_reasons": list(m.quality_reasons or []),
        "undercount_factor": None if m.undercount_factor is None else _round(m.undercount_factor, 2),
        "estimated_count": quality.estimate(m.count, m.undercount_factor),
        "tiled": m.tiled,
    }


def summarise_partial(total: Partial) -> dict:
    n = total.n
    div = n or 1
    return {
        "total_records": n,
        "avg_count": _round(total.sum_count / div, 2),
        "peak_count": total.max_count,
        "avg_density": _round(total.sum_density / div, 3),
        "max_density": _round(total.max_density, 3),
        "avg_velocity": _round(total.sum_speed / div, 2),
        "max_velocity": _round(total.max_speed, 2),
        "avg_risk": _round(total.sum_risk / div, 3),
        "max_risk_score": _round(total.max_risk, 3),
        "max_risk_level": total.worst_level if n else None,
        "max_surge": _round(total.max_surge, 3),
        "flow_in_total": total.flow_in,
        "flow_out_total": total.flow_out,
        "seconds_by_level": {
            RiskLevel.SAFE.value: n - total.n_caution - total.n_warning - total.n_critical,
            RiskLevel.CAUTION.value: total.n_caution,
            RiskLevel.WARNING.value: total.n_warning,
            RiskLevel.CRITICAL.value: total.n_critical,
        },
        # How much of the period the count could be trusted (seconds and share per level).
        "seconds_by_quality": total.seconds_by_quality,
        "share_by_quality": {
            level: _round(seconds / div, 4) if n else 0.0
            for level, seconds in total.seconds_by_quality.items()
        },
        "max_undercount_factor": total.undercount_factor,
        "tiled_seconds": total.n_tiled,
    }


def metrics_summary(camera, start: datetime, end: datetime, *, zone=None) -> dict:
    """Averages, peaks and totals over [start, end) (each row is one second of video)."""
    total = Partial()
    for partial in metric_partials(camera, start, end, zone=zone).values():
        total = total.merge(partial)
    summary = summarise_partial(total)
    tz = timezone.get_current_timezone()
    summary.update({"start": start.astimezone(tz).isoformat(), "end": end.astimezone(tz).isoformat()})
    return summary


def _bucket_start(at: datetime, bucket: str, tz: tzinfo) -> datetime:
    local = at.astimezone(tz)
    if bucket == "hourly":
        floored = local.replace(minute=0, second=0, microsecond=0)
    else:
        floored = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if bucket == "weekly":
            floored -= timedelta(days=floored.weekday())  # ISO weeks start on Monday
        # Re-localise: midnight may have a different UTC offset than `local` (DST).
        floored = timezone.make_aware(floored.replace(tzinfo=None), tz)
    return floored


def metrics_aggregate(
    camera, start: datetime, end: datetime, *, bucket: str = "hourly", zone=None
) -> list[dict]:
    """Hourly, daily or weekly (ISO, Monday) buckets in the display time zone, oldest first."""
    if bucket not in BUCKETS:
        raise ValidationError({"interval": f"Unknown interval '{bucket}'; use hourly, daily or weekly."})
    tz = timezone.get_current_timezone()
    buckets: dict[datetime, Partial] = {}
    for at, partial in metric_partials(camera, start, end, zone=zone).items():
        key = _bucket_start(at, bucket, tz)
        buckets[key] = buckets.get(key, Partial()).merge(partial)
    out = []
    for key in sorted(buckets):
        p = buckets[key]
        if not p.n:
            continue
        point = summarise_partial(p)
        out.append(
            {
                "bucket": key.isoformat(),
                "sample_count": p.n,
                "avg_count": point["avg_count"],
                "max_count": point["peak_count"],
                "avg_density": point["avg_density"],
                "max_density": point["max_density"],
                "avg_velocity": point["avg_velocity"],
                "max_velocity": point["max_velocity"],
                "avg_risk": point["avg_risk"],
                "max_risk": point["max_risk_score"],
                "max_risk_level": point["max_risk_level"],
                "flow_in": p.flow_in,
                "flow_out": p.flow_out,
                "count_quality": p.worst_quality,
                "seconds_by_quality": p.seconds_by_quality,
                "max_undercount_factor": p.undercount_factor,
            }
        )
    return out


def latest_metric(camera, *, zone=None) -> Metric | None:
    qs = Metric.objects.filter(camera=camera)
    zone_id = _zone_id(zone)
    qs = qs.filter(zone__isnull=True) if zone_id is None else qs.filter(zone_id=zone_id)
    return qs.order_by("-timestamp").first()


def metric_to_dict(m: Metric) -> dict:
    """A stored row as the API shows it (UTC ISO time, rounded like the live figures)."""
    tz = timezone.get_current_timezone()
    out = _row_point(m, tz)
    out.update(
        {
            "camera_id": m.camera_id,
            "zone_id": m.zone_id,
            "surge": _round(m.surge, 3),
            "clusters": m.clusters,
            "flow_coherence": _round(m.flow_coherence, 3),
            "pressure": _round(m.pressure, 5),  # s⁻²
            "anomalies": m.anomalies,
            "density_trend": m.density_trend,
            "risk_trend": m.risk_trend,
            "calibrated": m.calibrated,
            # The shape of the live figures' count_quality (a stored second is never "held").
            "count_quality": {
                "level": m.count_quality,
                "reasons": out.pop("quality_reasons"),
                "undercount_factor": out.pop("undercount_factor"),
                "estimated_count": out.pop("estimated_count"),
                "held": False,
            },
        }
    )
    out.pop("samples")
    out.pop("quality_seconds")
    return out


def iter_metric_rows(camera, start: datetime, end: datetime, *, zone=None, chunk_size: int = 5000):
    """Stored rows oldest first, streamed in chunks (exports of raw data)."""
    return (
        metrics_queryset(camera, start, end, zone=zone).order_by("timestamp").iterator(chunk_size=chunk_size)
    )


__all__ = [
    "BUCKETS",
    "PRESETS",
    "Partial",
    "history_step",
    "iter_metric_rows",
    "latest_metric",
    "metric_partials",
    "metric_to_dict",
    "metrics_aggregate",
    "metrics_history",
    "metrics_queryset",
    "metrics_summary",
    "resolve_range",
]
