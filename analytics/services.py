"""Writes of the analytics app: sealing hourly rollups of Metric rows.

An hour is sealed `SEAL_SECONDS` after it ends; from then on its 15-minute partials are
stored once (`analytics.rollups`), so long ranges read 24 rows a day instead of 86,400. The
beat task `analytics.tasks.seal_metric_hours` runs this; the selectors only read what it
stored and compute anything not stored yet from the rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from analytics import rollups
from analytics.partials import floor_to, hour_runs, raw_partials, rows_of, sealed_before, whole_hours
from cameras.models import Camera


def seal_hours(
    camera_id: int, zone_id: int | None, start: datetime, end: datetime, *, now: datetime | None = None
) -> int:
    """Store the rollups of the sealed whole UTC hours in [start, end) not stored yet.

    Empty hours are stored too, so they are not computed again. Returns how many were stored.
    """
    hours = whole_hours(start, min(end, floor_to(sealed_before(now), 3600)))
    if not hours:
        return 0
    stored = rollups.stored_hours(camera_id, zone_id, hours[0], hours[-1])
    missing = [h for h in hours if h not in stored]
    if not missing:
        return 0
    # Read before the rows: a row written while they are read is caught below.
    newest_id = rollups.newest_row_id()
    fresh: rollups.HourPartials = {h: {} for h in missing}
    qs = rows_of(camera_id, zone_id)
    for run_start, run_end in hour_runs(missing):
        for at, partial in raw_partials(qs, run_start, run_end).items():
            hour = floor_to(at, 3600)
            if hour in fresh:  # a single scan may cover stored hours too
                fresh[hour][at] = partial.as_tuple()
    rollups.store(camera_id, zone_id, fresh)
    # A writer whose rows landed during the read found nothing stored to drop yet.
    rollups.drop_written_since(camera_id, zone_id, newest_id)
    return len(missing)


def seal_metric_hours(*, days: int = 31, now: datetime | None = None) -> int:
    """Seal the last `days` of hours of every active camera and each of its zones.

    Only hours not stored yet are read, so a run after the first costs a query or two per
    camera and zone; after a bulk import of metrics the first run does the long read, not a
    user's request. Returns how many hours were stored.
    """
    end = now or timezone.now()
    start = end - timedelta(days=days)
    sealed = 0
    for camera in Camera.objects.filter(is_active=True).prefetch_related("zones"):
        for zone_id in [None, *(zone.pk for zone in camera.zones.all())]:
            sealed += seal_hours(camera.pk, zone_id, start, end, now=end)
    return sealed
