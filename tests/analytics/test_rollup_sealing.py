"""Hourly rollups are sealed by a beat task; reading metrics never writes.

The task runs on a real Celery worker against the test database (PostgreSQL in CI).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics import presenters, rollups, services
from analytics.models import Metric, MetricHour
from analytics.partials import floor_to, sealed_before
from analytics.tasks import seal_metric_hours
from crowdsafe.celery import app
from tests.support import Worker, wait_for


def _succeeded(worker: Worker, runs: int) -> list[int]:
    """The return values of the first `runs` successful sealing runs in the worker's log."""
    pattern = re.compile(r"analytics\.tasks\.seal_metric_hours\[[^\]]+\] succeeded in [\d.]+s: (\d+)")

    def found() -> list[int] | None:
        values = [int(n) for n in pattern.findall(worker.log_path.read_text(errors="replace"))]
        return values[:runs] if len(values) >= runs else None

    return wait_for(found, 60, what=f"{runs} sealing run(s)", detail=worker.output)


def _stored() -> dict[tuple[int, int, datetime], tuple[int, dict]]:
    return {(r.camera_id, r.zone_key, r.hour): (r.pk, r.partials) for r in MetricHour.objects.all()}


def test_the_beat_schedule_runs_the_sealing_task():
    entry = app.conf.beat_schedule["seal-metric-hours"]
    assert entry["task"] == seal_metric_hours.name == "analytics.tasks.seal_metric_hours"
    assert entry["task"] in app.tasks


def test_a_worker_seals_each_hour_once(start_worker, camera, zone, seed):
    """The task stores every sealed hour of the camera and its zone; a second run stores nothing."""
    data_start = floor_to(datetime.now(UTC) - timedelta(hours=30), 3600)
    seed(camera, data_start, 24 * 3600, step=60)
    seed(camera, data_start, 24 * 3600, step=120, zone=zone)
    worker = start_worker()

    seal_metric_hours.apply_async(kwargs={"days": 2}, queue="default")
    (first,) = _succeeded(worker, 1)
    stored = _stored()
    assert first == len(stored) > 0
    hours = sorted({hour for _, _, hour in stored})
    # Every whole hour of the last 2 days that is sealed, for the whole view and the zone alike.
    assert {(c, z) for c, z, _ in stored} == {(camera.pk, 0), (camera.pk, zone.pk)}
    assert len(stored) == 2 * len(hours)
    assert hours == [hours[0] + timedelta(hours=i) for i in range(len(hours))]
    assert hours[-1] + timedelta(hours=1) <= sealed_before()
    assert hours[0] < data_start and hours[-1] >= data_start + timedelta(hours=24)
    # Each stored hour holds its rows' aggregates: 60 rows an hour (30 in the zone), none outside.
    for (_, zone_key, hour), (_, partials) in stored.items():
        n = sum(values[0] for values in partials.values())
        inside = data_start <= hour < data_start + timedelta(hours=24)
        assert n == ((30 if zone_key else 60) if inside else 0), (zone_key, hour)
    mid = data_start + timedelta(hours=5)
    rows = Metric.objects.filter(
        camera=camera, zone=None, timestamp__gte=mid, timestamp__lt=mid + timedelta(hours=1)
    )
    parts = stored[(camera.pk, 0, mid)][1]
    assert sum(v[1] for v in parts.values()) == sum(r.count for r in rows)  # sum of counts

    seal_metric_hours.apply_async(kwargs={"days": 2}, queue="default")
    assert _succeeded(worker, 2)[1] == 0
    assert _stored() == stored  # the same rows, not written again

    # A late row into a sealed hour drops it (as the metrics writer does); the next run re-seals
    # that hour alone.
    late = Metric.objects.create(
        camera=camera, timestamp=mid + timedelta(seconds=30), count=500, count_max=500
    )
    assert rollups.rows_written([late]) == 1
    seal_metric_hours.apply_async(kwargs={"days": 2}, queue="default")
    assert _succeeded(worker, 3)[2] == 1
    again = _stored()
    assert {k: v for k, v in again.items() if k != (camera.pk, 0, mid)} == {
        k: v for k, v in stored.items() if k != (camera.pk, 0, mid)
    }
    assert sum(v[0] for v in again[(camera.pk, 0, mid)][1].values()) == 61


@pytest.mark.django_db
def test_reading_metrics_only_selects(api_as, viewer_user, camera, zone, seed):
    """History, summary and aggregates over sealed hours neither store nor drop rollups."""
    start = datetime(2025, 5, 1, tzinfo=UTC)
    end = start + timedelta(days=3)
    seed(camera, start, 3 * 86400, step=30)
    seed(camera, start, 86400, step=60, zone=zone)
    # Half the hours stored, so reads mix stored hours with hours computed from the rows.
    assert services.seal_hours(camera.pk, None, start, start + timedelta(hours=36)) == 36
    before = _stored()
    api = api_as(viewer_user)
    rng = {"start": start.isoformat(), "end": end.isoformat()}
    with CaptureQueriesContext(connection) as queries:
        history = presenters.metrics_history(camera, start, end, max_points=100)
        summary = presenters.metrics_summary(camera, start, end)
        presenters.metrics_aggregate(camera, start, end, bucket="daily", zone=zone)
        for path in ("history/", "summary/", "aggregate/"):
            response = api.get(f"/api/metrics/{camera.pk}/{path}", rng)
            assert response.status_code == 200, response.content
            response = api.get(f"/api/metrics/{camera.pk}/{path}", {**rng, "zone": zone.pk})
            assert response.status_code == 200, response.content
    verbs = {q["sql"].split(None, 1)[0].upper() for q in queries.captured_queries}
    assert verbs == {"SELECT"}, verbs
    assert _stored() == before
    assert summary["total_records"] == 3 * 2880 == sum(p["samples"] for p in history)
