"""Read-side queries over Metric rows: rows, time buckets and totals as plain read models.

Selectors only read. They take resolved, typed arguments (a camera, a zone or None, UTC
datetimes, a bucket size) and return Metric rows or `Partial` aggregates; parsing a request
lives in `analytics.ranges` and the query serializers / forms, shaping the output in
`analytics.presenters`.

Speed: a 30-day range of 1 Hz data is 2.6 million rows, too many to scan on every request.
Whole ranges are therefore composed from 15-minute *partials* (`analytics.partials`), stored
per camera, zone and UTC hour once that hour is sealed (`analytics.services.seal_metric_hours`,
a beat task); edges, unsealed hours and hours not stored yet are read from the table. Every tz
offset in use is a multiple of 15 minutes, so display-zone hours, days and weeks are unions of
partials. Writers of Metric rows call `rollups.rows_written()`, which drops the stored hours
they write into, so stored figures never go stale.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, tzinfo

from django.db.models import QuerySet
from django.utils import timezone

from analytics import rollups
from analytics.models import Metric
from analytics.partials import (
    PARTIAL_SECONDS,
    Partial,
    ceil_to,
    floor_to,
    grouped,
    hour_runs,
    raw_partials,
    rows_of,
    sealed_before,
    whole_hours,
    zone_id_of,
)
from analytics.ranges import BUCKETS

# Bucket sizes history may use (seconds); >= 900 ones are built from stored partials.
HISTORY_STEPS = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
MAX_HISTORY_POINTS = 10_000

Buckets = list[tuple[datetime, Partial]]


def metrics_queryset(camera, start: datetime, end: datetime, *, zone=None) -> QuerySet:
    """Metric rows of the camera (zone None: whole-camera rows) in [start, end)."""
    return rows_of(camera.pk, zone_id_of(zone)).filter(timestamp__gte=start, timestamp__lt=end)


def metric_partials(camera, start: datetime, end: datetime, *, zone=None) -> dict[datetime, Partial]:
    """15-minute UTC partials covering exactly [start, end) (edge partials cover less).

    Sealed hours come from the stored rollups where they exist; everything else from the rows.
    """
    qs = metrics_queryset(camera, start, end, zone=zone)
    a, b = ceil_to(start, PARTIAL_SECONDS), floor_to(end, PARTIAL_SECONDS)
    if a >= b:
        return raw_partials(qs, start, end)
    out = raw_partials(qs, start, a)
    out.update(raw_partials(qs, b, end))
    hours = whole_hours(a, min(b, floor_to(sealed_before(), 3600)))
    if not hours:
        out.update(raw_partials(qs, a, b))
        return out
    out.update(raw_partials(qs, a, hours[0]))
    out.update(raw_partials(qs, hours[-1] + timedelta(hours=1), b))
    stored = rollups.load(camera.pk, zone_id_of(zone), hours[0], hours[-1])
    missing = [h for h in hours if h not in stored]
    for run_start, run_end in hour_runs(missing):
        for at, partial in raw_partials(qs, run_start, run_end).items():
            if floor_to(at, 3600) not in stored:  # a single scan may cover stored hours too
                out[at] = partial
    for parts in stored.values():
        out.update({at: Partial(*values) for at, values in parts.items()})
    return out


def history_step(start: datetime, end: datetime, max_points: int) -> int:
    """The bucket size (s) history uses: 1 (raw rows) or the smallest step giving <= max_points."""
    span = (end - start).total_seconds()
    for step in HISTORY_STEPS:
        if span / step <= max_points:
            return step
    return HISTORY_STEPS[-1]


def history_rows(camera, start: datetime, end: datetime, *, limit: int, zone=None) -> list[Metric]:
    """Stored rows in [start, end), oldest first, at most `limit`."""
    return list(metrics_queryset(camera, start, end, zone=zone).order_by("timestamp")[:limit])


def history_buckets(camera, start: datetime, end: datetime, *, step: int, zone=None) -> Buckets:
    """UTC buckets of `step` seconds (> 1) over [start, end) that hold data, oldest first."""
    buckets: dict[datetime, Partial] = {}
    if step >= PARTIAL_SECONDS:
        for at, partial in metric_partials(camera, start, end, zone=zone).items():
            key = floor_to(at, step)
            buckets[key] = buckets.get(key, Partial()).merge(partial)
    else:
        for at, partial in grouped(metrics_queryset(camera, start, end, zone=zone), step):
            buckets[at] = buckets.get(at, Partial()).merge(partial)
    return [(at, buckets[at]) for at in sorted(buckets) if buckets[at].n]


def metrics_total(camera, start: datetime, end: datetime, *, zone=None) -> Partial:
    """Everything in [start, end) merged into one Partial (each row is one second of video)."""
    total = Partial()
    for partial in metric_partials(camera, start, end, zone=zone).values():
        total = total.merge(partial)
    return total


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


def aggregate_buckets(
    camera, start: datetime, end: datetime, *, bucket: str, tz: tzinfo, zone=None
) -> Buckets:
    """Hourly, daily or weekly (ISO, Monday) buckets in time zone `tz` that hold data, oldest first."""
    if bucket not in BUCKETS:
        raise ValueError(f"unknown bucket {bucket!r}")  # input is validated before it gets here
    buckets: dict[datetime, Partial] = {}
    for at, partial in metric_partials(camera, start, end, zone=zone).items():
        key = _bucket_start(at, bucket, tz)
        buckets[key] = buckets.get(key, Partial()).merge(partial)
    return [(key, buckets[key]) for key in sorted(buckets) if buckets[key].n]


def latest_metric(camera, *, zone=None) -> Metric | None:
    return rows_of(camera.pk, zone_id_of(zone)).order_by("-timestamp").first()


def iter_metric_rows(
    camera, start: datetime, end: datetime, *, zone=None, chunk_size: int = 5000
) -> Iterator[Metric]:
    """Stored rows oldest first, streamed in chunks (exports of raw data)."""
    return (
        metrics_queryset(camera, start, end, zone=zone).order_by("timestamp").iterator(chunk_size=chunk_size)
    )


__all__ = [
    "HISTORY_STEPS",
    "Partial",
    "aggregate_buckets",
    "history_buckets",
    "history_rows",
    "history_step",
    "iter_metric_rows",
    "latest_metric",
    "metric_partials",
    "metrics_queryset",
    "metrics_total",
]
