"""Per-second metric rows, the camera lease, and recording failures that spare the analysis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.engine import CameraGeometry, CrowdEngine, ZoneSpec
from analytics.metrics_writer import MetricsWriter
from analytics.models import Metric
from analytics.sinks import MetricsSink
from cameras import services
from cameras.models import Camera, Recording, Zone
from cameras.runtime import leases
from cameras.runtime.recorder import SegmentRecorder
from cameras.runtime.sinks import CameraContext, FrameOutput, SinkStart

pytestmark = pytest.mark.django_db

ORIGIN = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _boxes(n: int) -> tuple:
    xyxy = np.array([[10 + 30 * i, 100, 30 + 30 * i, 160] for i in range(n)], float)
    return xyxy, np.arange(n), None


def _engine(zone: Zone) -> CrowdEngine:
    """The real engine without a detector (synthetic tracks), a 10 m² camera with one zone."""
    spec = ZoneSpec(zone.pk, zone.name, zone.polygon, zone.area_m2)
    return CrowdEngine(None, geometry=CameraGeometry(area_m2=10, zones=[spec]))


def test_one_row_per_second_of_video_per_camera_and_zone():
    camera = services.create_camera(name="Metrics", area_m2=10)
    left = [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]
    zone = Zone.objects.create(camera=camera, name="Left", polygon=left, area_m2=5)
    engine = _engine(zone)
    writer = MetricsWriter(camera.pk, ORIGIN, batch_size=100)
    counts = [2, 4, 6, 3, 3, 9]  # frames at 0.0, 0.5, 1.0, 1.5, 2.0, 2.5 s of video
    for i, n in enumerate(counts):
        writer.add(engine.analyse(_boxes(n), i * 0.5, (640, 480)))
    assert Metric.objects.count() == 0  # batched: nothing written yet
    assert writer.close() == 6

    rows = list(Metric.objects.filter(camera=camera, zone=None).order_by("timestamp"))
    assert [r.timestamp for r in rows] == [ORIGIN + timedelta(seconds=s) for s in (0, 1, 2)]
    assert [(r.frames, r.count, r.count_max) for r in rows] == [(2, 3, 4), (2, 4, 6), (2, 6, 9)]
    assert rows[2].density == pytest.approx(0.6)  # mean of 0.3 and 0.9 p/m²
    assert rows[2].risk_score == max(r.risk_score for r in rows[2:])  # peaks are kept
    zone_rows = Metric.objects.filter(zone=zone).order_by("timestamp")
    assert zone_rows.count() == 3 and all(r.density >= 0 for r in zone_rows)


@pytest.mark.django_db(transaction=True)  # the zone's foreign key is checked at a real commit
def test_rows_of_a_zone_deleted_since_the_last_heartbeat_are_dropped_not_fatal():
    camera = services.create_camera(name="Zones gone", area_m2=10)
    zone = Zone.objects.create(camera=camera, name="Z", polygon=[[0, 0], [1, 0], [1, 1]], area_m2=5)
    engine = _engine(zone)
    writer = MetricsWriter(camera.pk, ORIGIN, zone_ids={zone.pk})  # the runner's context still has it
    writer.add(engine.analyse(_boxes(3), 0.0, (640, 480)))
    zone.delete()
    assert writer.close() == 1 and Metric.objects.get().zone is None
    assert writer.zone_ids == set()


def test_the_metrics_sink_takes_the_zones_from_the_runners_context():
    camera = services.create_camera(name="Context", area_m2=10)
    zone = Zone.objects.create(camera=camera, name="Z", polygon=[[0, 0], [1, 0], [1, 1]], area_m2=5)
    engine = _engine(zone)
    sink = MetricsSink(SinkStart(camera.pk, ORIGIN), flush_every_s=0)
    context = CameraContext.load(Camera.objects.prefetch_related("zones").get(pk=camera.pk))
    for i in range(4):
        sink.on_frame(context, FrameOutput(engine.analyse(_boxes(3), i * 0.5, (640, 480)), bytes))
    with CaptureQueriesContext(connection) as queries:
        sink.on_heartbeat(context)
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "INSERT INTO \"analytics_metric\"" in sql and "cameras_zone" not in sql  # no zone lookup
    assert Metric.objects.filter(zone=zone).count() == 1
    # The zone leaves the context (deleted, seen at the next heartbeat): its rows are dropped.
    gone = CameraContext(context.camera, {}, context.settings)
    for i in range(4, 6):
        sink.on_frame(gone, FrameOutput(engine.analyse(_boxes(3), i * 0.5, (640, 480)), bytes))
    sink.on_heartbeat(gone)
    sink.close()
    assert Metric.objects.filter(camera=camera, zone=None).count() == 3
    assert Metric.objects.filter(zone=zone).count() == 1


def test_the_lease_admits_one_runner_and_only_its_owner_renews_or_releases():
    first, second = leases.Lease(42, ttl_s=5), leases.Lease(42, ttl_s=5)
    assert first.acquire() and not second.acquire()
    assert leases.lease_holder(42)["token"] in first.token
    assert first.renew() and not second.renew()
    second.release()  # not its lease: nothing happens
    assert leases.is_running(42)
    first.release()
    assert not leases.is_running(42) and not first.renew()  # lost for good
    assert second.acquire()
    second.release()


def test_a_full_disk_stops_recording_but_not_the_caller(settings, monkeypatch):
    camera = services.create_camera(name="Disk", area_m2=10)
    errors: list[str | None] = []
    recorder = SegmentRecorder(camera.pk, 10, segment_s=2, on_error=errors.append)
    frame = np.full((120, 160, 3), 80, np.uint8)
    settings.CROWDSAFE_RECORDING_MIN_FREE_MB = 10**12  # no disk is that free
    for i in range(5):
        recorder.write(frame, i * 0.1, ORIGIN)  # never raises
    assert errors and "disk full" in errors[0] and "Analysis continues" in errors[0]
    settings.CROWDSAFE_RECORDING_MIN_FREE_MB = 1
    for i in range(40):  # recovers after the retry delay (60 s of video)
        recorder.write(frame, 61 + i * 0.1, ORIGIN)
    recorder.close()
    assert errors[-1] is None
    segments = Recording.objects.filter(camera=camera).order_by("started_at")
    assert [s.frames for s in segments] == [20, 20]  # 2 s segments at 10 fps
