"""Fenced writes (issue #11): one Metric row per camera, zone and second, and a runner whose
lease was taken writes nothing more. Real PostgreSQL/SQLite and Redis, the real engine."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db import IntegrityError, transaction

from analytics.engine import CameraGeometry, CrowdEngine, ZoneSpec
from analytics.metrics_writer import MetricsWriter
from analytics.models import Metric
from cameras import services
from cameras.models import Camera, Zone
from cameras.runtime import capacity, leases

pytestmark = pytest.mark.django_db

ORIGIN = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _boxes(n: int) -> tuple:
    xyxy = np.array([[10 + 30 * i, 100, 30 + 30 * i, 160] for i in range(n)], float)
    return xyxy, np.arange(n), None


def _camera_with_zone(name: str) -> tuple[Camera, Zone]:
    camera = services.create_camera(name=name, area_m2=10)
    zone = Zone.objects.create(camera=camera, name="All", polygon=[[0, 0], [1, 0], [1, 1], [0, 1]], area_m2=5)
    return camera, zone


def _feed(writer: MetricsWriter, zone: Zone, seconds: range) -> None:
    engine = CrowdEngine(None, geometry=CameraGeometry(area_m2=10, zones=[ZoneSpec(zone.pk, zone.name,
                                                                                  zone.polygon, 5)]))
    for s in seconds:
        writer.add(engine.analyse(_boxes(3), float(s), (640, 480)))


def test_the_database_refuses_a_second_row_for_the_same_camera_zone_and_second():
    camera, zone = _camera_with_zone("Unique")
    other = Zone.objects.create(camera=camera, name="Other", polygon=[[0, 0], [1, 0], [1, 1]], area_m2=5)
    Metric.objects.create(camera=camera, zone=None, timestamp=ORIGIN)
    Metric.objects.create(camera=camera, zone=zone, timestamp=ORIGIN)
    Metric.objects.create(camera=camera, zone=other, timestamp=ORIGIN)  # another zone: fine
    Metric.objects.create(camera=camera, zone=None, timestamp=ORIGIN + timedelta(seconds=1))
    for zone_or_none in (None, zone):  # the whole camera (zone NULL) and a zone alike
        with pytest.raises(IntegrityError), transaction.atomic():
            Metric.objects.create(camera=camera, zone=zone_or_none, timestamp=ORIGIN)
    assert Metric.objects.filter(camera=camera).count() == 4


def test_a_writer_whose_lease_was_taken_writes_nothing_more():
    camera, zone = _camera_with_zone("Fenced")
    first = leases.Lease(camera.pk, ttl_s=5)
    assert first.acquire() and first.fence >= 1
    old = MetricsWriter(camera.pk, ORIGIN, fence=first.fence_check)
    _feed(old, zone, range(0, 3))
    assert old.flush_pending() == 4  # seconds 0 and 1 (camera + zone rows); 2 is still open

    # The lease expires (a frozen runner) and another runner takes the camera.
    leases.get_redis().delete(leases.lease_key(camera.pk))
    second = leases.Lease(camera.pk, ttl_s=5)
    assert second.acquire() and second.fence == first.fence + 1
    assert Camera.objects.get(pk=camera.pk).lease_token == second.fence

    _feed(old, zone, range(3, 6))  # the old runner thaws and goes on
    assert old.close() == 0 and old.fenced
    _feed(old, zone, range(6, 20))  # batches that would flush by themselves: dropped too
    assert old.close() == 0

    new = MetricsWriter(camera.pk, ORIGIN, fence=second.fence_check)
    _feed(new, zone, range(2, 5))
    assert new.close() == 6 and not new.fenced
    seconds = sorted(Metric.objects.filter(camera=camera, zone=None).values_list("timestamp", flat=True))
    assert seconds == [ORIGIN + timedelta(seconds=s) for s in range(0, 5)]
    assert Metric.objects.filter(camera=camera).count() == 10  # 5 seconds x (camera + zone)
    second.release()


def test_seconds_already_stored_keep_their_first_row_and_the_batch_lands():
    camera, zone = _camera_with_zone("Overlap")
    first = MetricsWriter(camera.pk, ORIGIN)
    _feed(first, zone, range(0, 4))
    assert first.close() == 8
    kept = set(Metric.objects.filter(camera=camera).values_list("pk", flat=True))
    again = MetricsWriter(camera.pk, ORIGIN)  # e.g. a file resumed a little before its last row
    _feed(again, zone, range(2, 7))
    again.close()
    rows = Metric.objects.filter(camera=camera)
    assert sorted(set(rows.filter(zone=None).values_list("timestamp", flat=True))) == [
        ORIGIN + timedelta(seconds=s) for s in range(0, 7)
    ]
    assert rows.count() == 14 and kept <= set(rows.values_list("pk", flat=True))


def test_fencing_tokens_grow_per_camera_and_a_dead_holder_is_recognised():
    camera, _ = _camera_with_zone("Tokens")
    tokens = []
    for _ in range(3):
        lease = leases.Lease(camera.pk, ttl_s=5)
        assert lease.acquire()
        tokens.append(lease.fence)
        assert leases.holder_alive(leases.lease_holder(camera.pk)) is True  # this very process
        lease.release()
    assert tokens == sorted(tokens) and len(set(tokens)) == 3
    dead = {"host": leases.socket.gethostname(), "pid": 2**22 + 7, "started": 1.0}
    assert leases.holder_alive(dead) is False
    assert leases.holder_alive({**dead, "host": "elsewhere"}) is None  # another host: cannot tell


def test_waiting_cameras_say_whether_a_stream_slot_is_free():
    assert capacity.waiting_detail(capacity.Capacity(0, 0)) == "Waiting for a stream worker: none is running."
    assert capacity.waiting_detail(capacity.Capacity(2, 2)) == (
        "Waiting for a stream slot: all 2 stream slots busy."
    )
    assert "1 of 2 stream slots free" in capacity.waiting_detail(capacity.Capacity(2, 1))


@pytest.mark.django_db(transaction=True)
def test_a_taker_does_not_hang_behind_a_runner_frozen_mid_flush():
    """A runner frozen inside its flush keeps the camera row locked: the taker gives up after
    the lock timeout (reconcile retries) instead of hanging while holding the lease."""
    from django.db import OperationalError, connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("row locks and lock_timeout are PostgreSQL's (SQLite serialises writers)")
    camera, _ = _camera_with_zone("Frozen mid-flush")
    frozen = leases.Lease(camera.pk, ttl_s=5)
    assert frozen.acquire()
    locked, thaw = threading.Event(), threading.Event()

    def flush_then_freeze() -> None:
        try:
            with transaction.atomic():
                assert frozen.fence_check()  # holds the row lock, as a flush does
                locked.set()
                thaw.wait(20)
        finally:
            connections.close_all()

    thread = threading.Thread(target=flush_then_freeze)
    thread.start()
    try:
        assert locked.wait(10)
        leases.get_redis().delete(leases.lease_key(camera.pk))  # its lease expired meanwhile
        taker = leases.Lease(camera.pk, ttl_s=5)
        started = time.monotonic()
        with pytest.raises(OperationalError):
            taker.acquire()
        waited = time.monotonic() - started
        assert leases.FENCE_LOCK_TIMEOUT_MS / 1000 - 0.5 <= waited < 10
        assert not leases.is_running(camera.pk)  # the lease was handed back, not left to expire
    finally:
        thaw.set()
        thread.join(10)
    assert taker.acquire() and taker.fence == frozen.fence + 1  # once the row is free
    taker.release()
