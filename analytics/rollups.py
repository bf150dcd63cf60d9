"""Hourly rollups of Metric rows in the database (see `analytics.models.MetricHour`).

Stored by `analytics.services.seal_metric_hours` (a beat task) once an hour is sealed; the
selectors compose long ranges from them and never write. Every writer of Metric rows calls
`rows_written()` so an hour that was already rolled up is recomputed from its rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.db.models import Max, Q

from analytics.models import Metric, MetricHour

# {hour: {quarter start: partial tuple}}
HourPartials = dict[datetime, dict[datetime, tuple]]


def _zone_key(zone_id: int | None) -> int:
    return zone_id or 0


def load(camera_id: int, zone_id: int | None, first: datetime, last: datetime) -> HourPartials:
    """Stored hours in [first, last] (hour starts)."""
    rows = MetricHour.objects.filter(
        camera_id=camera_id, zone_key=_zone_key(zone_id), hour__gte=first, hour__lte=last
    ).values_list("hour", "partials")
    return {
        hour.astimezone(UTC): {datetime.fromtimestamp(int(k), UTC): tuple(v) for k, v in parts.items()}
        for hour, parts in rows
    }


def stored_hours(camera_id: int, zone_id: int | None, first: datetime, last: datetime) -> set[datetime]:
    """Starts of the stored hours in [first, last], without loading their partials."""
    rows = MetricHour.objects.filter(
        camera_id=camera_id, zone_key=_zone_key(zone_id), hour__gte=first, hour__lte=last
    ).values_list("hour", flat=True)
    return {hour.astimezone(UTC) for hour in rows}


def store(camera_id: int, zone_id: int | None, hours: HourPartials) -> None:
    """Keep computed hours (empty ones too, so they are not computed again)."""
    MetricHour.objects.bulk_create(
        [
            MetricHour(
                camera_id=camera_id,
                zone_key=_zone_key(zone_id),
                hour=hour,
                partials={str(int(at.timestamp())): list(values) for at, values in parts.items()},
            )
            for hour, parts in hours.items()
        ],
        ignore_conflicts=True,  # another sealing run stored the same hour meanwhile
        batch_size=500,
    )


def rows_written(rows: Iterable[Metric]) -> int:
    """Drop the rollups of the hours these new rows fall in; returns how many were dropped."""
    hours: dict[tuple[int, int], set[datetime]] = {}
    for row in rows:
        ts = row.timestamp.astimezone(UTC)
        hours.setdefault((row.camera_id, _zone_key(row.zone_id)), set()).add(
            ts.replace(minute=0, second=0, microsecond=0)
        )
    if not hours:
        return 0
    # One DELETE for every camera and zone of the batch: this runs on each metrics flush.
    stale = Q()
    for (camera_id, zone_key), in_hours in hours.items():
        stale |= Q(camera_id=camera_id, zone_key=zone_key, hour__in=in_hours)
    return MetricHour.objects.filter(stale).delete()[0]


def newest_row_id() -> int:
    return Metric.objects.aggregate(m=Max("id"))["m"] or 0


def drop_written_since(camera_id: int, zone_id: int | None, last_id: int) -> int:
    """Drop stored hours that rows newer than `last_id` fall in.

    Called after storing hours computed from rows read when `last_id` was the newest: a writer
    whose rows landed during that read called `rows_written` before the hours were stored.
    Reads only the few rows written since (primary-key range).
    """
    rows = Metric.objects.filter(id__gt=last_id, camera_id=camera_id)
    rows = rows.filter(zone_id=zone_id) if zone_id else rows.filter(zone__isnull=True)
    return rows_written(rows.only("camera_id", "zone_id", "timestamp"))
