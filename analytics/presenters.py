"""The metrics figures as the API, the pages and the reports show them.

Reads through `analytics.selectors` and shapes the result: times in the display zone as ISO
strings, figures rounded like the live ones. Pure formatting apart from those reads; the
callers have already parsed and validated the request.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from analytics import selectors
from analytics.gaps import gap_starts
from analytics.models import Metric, RiskLevel
from analytics.partials import Partial
from core import count_quality as quality
from core.times import utc_iso


def _round(value: float, digits: int) -> float:
    return round(float(value), digits)


def bucket_point(at: datetime, p: Partial, tz: tzinfo) -> dict:
    """A history point of a bucket: averages, peaks, the worst level and its seconds."""
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


def row_point(m: Metric, tz: tzinfo) -> dict:
    """A history point of one stored second."""
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


def aggregate_bucket(at: datetime, p: Partial) -> dict:
    point = summarise_partial(p)
    return {
        "bucket": at.isoformat(),
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


def metrics_history(
    camera, start: datetime, end: datetime, *, zone=None, max_points: int = 1000
) -> list[dict]:
    """Points over [start, end), oldest first; long ranges averaged into at most ~max_points buckets.

    Each point has the bucket start (display zone), averages, peaks, the worst risk level
    and the number of seconds (samples) it covers.
    """
    max_points = max(10, min(int(max_points), selectors.MAX_HISTORY_POINTS))
    tz = timezone.get_current_timezone()
    step = selectors.history_step(start, end, max_points)
    if step == 1:
        rows = selectors.history_rows(camera, start, end, zone=zone, limit=max_points * 2)
        return [row_point(m, tz) for m in rows]
    buckets = selectors.history_buckets(camera, start, end, step=step, zone=zone)
    return [bucket_point(at, p, tz) for at, p in buckets]


def metrics_summary(camera, start: datetime, end: datetime, *, zone=None) -> dict:
    """Averages, peaks and totals over [start, end) (each row is one second of video)."""
    summary = summarise_partial(selectors.metrics_total(camera, start, end, zone=zone))
    tz = timezone.get_current_timezone()
    summary.update({"start": start.astimezone(tz).isoformat(), "end": end.astimezone(tz).isoformat()})
    return summary


def metrics_aggregate(
    camera, start: datetime, end: datetime, *, bucket: str = "hourly", zone=None
) -> list[dict]:
    """Hourly, daily or weekly (ISO, Monday) buckets in the display time zone, oldest first."""
    tz = timezone.get_current_timezone()
    buckets = selectors.aggregate_buckets(camera, start, end, bucket=bucket, tz=tz, zone=zone)
    return [aggregate_bucket(at, p) for at, p in buckets]


def metric_to_dict(m: Metric) -> dict:
    """A stored row as the API shows it (UTC ISO time, rounded like the live figures)."""
    out = row_point(m, timezone.get_current_timezone())
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


LIVE_CHART_MINUTES = 5


def live_chart_seed(camera, minutes: int = LIVE_CHART_MINUTES) -> list[dict[str, Any]]:
    """The last minutes of stored metrics, so the camera page's live chart does not start empty."""
    end = timezone.now()
    start = end - timedelta(minutes=minutes)
    rows = metrics_history(camera, start, end, max_points=300)
    tz = timezone.get_current_timezone()
    times = [parse_datetime(row["timestamp"]) for row in rows]
    gaps = set(gap_starts(times, selectors.history_step(start, end, 300))) if all(times) else set()
    seed: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        if i in gaps:  # no data for a while: the chart's line breaks here
            seed.append({"t": "", "at": None, "count": None, "density": None, "risk": None})
        at = parse_datetime(row["timestamp"]) if isinstance(row["timestamp"], str) else row["timestamp"]
        seed.append(
            {
                "t": _clock(row["timestamp"], tz),  # the site's zone: the page relabels it in the viewer's
                "at": utc_iso(at) if at else None,
                "count": row.get("count") or 0,
                "density": row.get("density") or 0,
                "risk": round((row.get("risk_score") or 0) * 100, 1),
            }
        )
    return seed


def _clock(value: Any, tz: tzinfo) -> str:
    if isinstance(value, str):
        value = parse_datetime(value) or value
    return value.astimezone(tz).strftime("%H:%M:%S") if hasattr(value, "astimezone") else str(value)
