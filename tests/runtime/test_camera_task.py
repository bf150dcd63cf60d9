"""The camera runtime end to end: a real Celery worker, Redis, channel layer and database."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from datetime import timedelta

import cv2
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from analytics.models import Metric
from cameras import live, services, tasks
from cameras.models import Camera, CameraStatus, DesiredState, Recording, SourceType
from cameras.runtime import leases
from cameras.uploads import import_video_file
from tests.runtime.helpers import MjpegServer
from tests.support import free_port, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


def _camera(name: str, video=None, **fields) -> Camera:
    camera = services.create_camera(name=name, area_m2=40, **fields)
    if video is not None:
        import_video_file(camera, video)
    camera.refresh_from_db()
    return camera


def _status(camera: Camera) -> str:
    camera.refresh_from_db()
    if camera.status == CameraStatus.ERROR:
        raise AssertionError(f"camera error: {camera.status_detail}")
    return camera.status


def _drain(channel: str, seconds: float) -> list[dict]:
    layer = get_channel_layer()

    async def collect():
        got = []
        try:
            async with asyncio.timeout(seconds):
                while True:
                    got.append(await layer.receive(channel))
        except TimeoutError:
            pass
        return got

    return async_to_sync(collect)()


def test_file_camera_through_the_worker(worker, clip4, media_root):
    camera = _camera("Gate A", clip4, target_fps=10)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"camera.{camera.pk}", channel)

    assert services.start_camera(camera) is True
    assert services.start_camera(camera) is False  # a second start does nothing
    tasks.run_camera.delay(camera.pk)  # even a duplicate task: the lease admits one runner

    try:
        wait_for(lambda: _status(camera) == CameraStatus.FINISHED, 120, what="the clip to finish")
    except AssertionError:
        print(
            "STATUS",
            camera.status,
            camera.status_detail,
            camera.desired_state,
            leases.lease_holder(camera.pk),
        )
        print(worker.output())
        raise
    messages = _drain(channel, 1.0)

    camera.refresh_from_db()
    assert camera.desired_state == DesiredState.STOPPED and camera.last_seen_at is not None
    rows = list(Metric.objects.filter(camera=camera, zone=None).order_by("timestamp"))
    # 40 frames at 10 fps of video: one row per second of video, 10 frames each, 1 s apart.
    assert [r.frames for r in rows] == [10, 10, 10, 10]
    gaps = [b.timestamp - a.timestamp for a, b in zip(rows, rows[1:], strict=False)]
    assert gaps == [timedelta(seconds=1)] * 3
    assert all(r.count_max >= r.count >= 1 for r in rows)  # vtest shows several pedestrians
    assert all(0 <= r.risk_score <= 1 for r in rows)

    recording = Recording.objects.get(camera=camera)
    cap = cv2.VideoCapture(str(media_root / recording.file.name))
    decoded = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        decoded += 1
        assert frame.shape[:2] == (576, 768)
    assert decoded == recording.frames == 40
    assert recording.codec in {"h264", "vp8", "vp9"}  # plays in a browser

    updates = [m for m in messages if m["type"] == "camera.update"]
    statuses = [m["data"]["status"] for m in messages if m["type"] == "camera.status"]
    assert updates, "no live figures reached the camera's group"
    assert updates[0]["data"]["camera_id"] == camera.pk and "persons" not in updates[0]["data"]
    assert {"count", "density", "risk_level", "risk_score"} <= updates[0]["data"].keys()
    assert len(updates) <= 2 * 10  # at most ~2 pushes per second over a few seconds of work
    assert statuses[-1] == CameraStatus.FINISHED
    assert not leases.is_running(camera.pk)


def test_stop_ends_the_runner_within_seconds(worker, clip_long):
    camera = _camera("Gate B", clip_long, target_fps=5)
    assert services.start_camera(camera)
    wait_for(
        lambda: _status(camera) == CameraStatus.RUNNING and live.get_latest_jpeg(camera.pk),
        60,
        what="the camera to run",
    )
    assert live.get_latest_jpeg(camera.pk).startswith(b"\xff\xd8")  # a JPEG

    services.stop_camera(camera)
    wait_for(lambda: not leases.is_running(camera.pk), 5, what="the runner to end")
    wait_for(lambda: _status(camera) == CameraStatus.STOPPED, 5, what="the stopped status")
    assert Recording.objects.filter(camera=camera, frames__gt=0).exists()  # segment finalised
    assert live.get_latest_jpeg(camera.pk) is None  # no frozen picture posing as live


def test_killed_runner_is_replaced_by_its_worker_at_once(worker, clip_long):
    camera = _camera("Gate C", clip_long, target_fps=5)
    assert services.start_camera(camera)
    holder = wait_for(lambda: leases.lease_holder(camera.pk), 60, what="a runner")
    wait_for(lambda: _status(camera) == CameraStatus.RUNNING, 60, what="running")

    os.kill(holder["pid"], signal.SIGKILL)  # the pool process dies mid-frame
    # The worker sees its pool process die: the dead lease is broken and a new runner queued,
    # without waiting for the lease to expire or for reconcile (tests/runtime/test_recovery.py).
    new = wait_for(
        lambda: (h := leases.lease_holder(camera.pk)) and h["pid"] != holder["pid"] and h,
        60, what="a new runner",
    )
    assert new["token"] != holder["token"]
    assert tasks.reconcile_cameras()["restarted"] == []  # nothing left for reconcile to do
    wait_for(lambda: _status(camera) == CameraStatus.RUNNING, 60, what="running again")
    services.stop_camera(camera)
    wait_for(lambda: not leases.is_running(camera.pk), 10, what="the runner to stop")


def _backoffs(camera: Camera) -> float | None:
    camera.refresh_from_db()
    if camera.status != CameraStatus.RECONNECTING:
        return None
    found = re.search(r"next try in ([\d.]+) s", camera.status_detail)
    return float(found.group(1)) if found else None


def test_unreachable_rtsp_reconnects_with_growing_backoff(worker):
    port = free_port()  # nothing listens there
    camera = _camera("Dead RTSP", source_type=SourceType.RTSP, source=f"rtsp://user:pw@127.0.0.1:{port}/live")
    assert services.start_camera(camera)
    seen: list[float] = []

    def three_backoffs():
        value = _backoffs(camera)
        if value is not None and (not seen or value != seen[-1]):
            seen.append(value)
        return len(seen) >= 3

    wait_for(three_backoffs, 40, interval_s=0.1, what="three reconnect attempts")
    assert seen[0] < seen[1] < seen[2]  # exponential (0.5, 1, 2 s with ±10 % jitter)
    assert worker.proc.poll() is None and leases.is_running(camera.pk)  # no crash
    services.stop_camera(camera)
    wait_for(lambda: not leases.is_running(camera.pk), 10, what="the runner to stop")


def test_live_source_recovers_when_it_appears(worker, clip4):
    port = free_port()
    camera = _camera(
        "Late MJPEG", source_type=SourceType.HTTP, source=f"http://127.0.0.1:{port}/video.mjpg", target_fps=5
    )
    assert services.start_camera(camera)
    wait_for(lambda: _status(camera) == CameraStatus.RECONNECTING, 30, what="reconnecting")
    server = MjpegServer(clip4, port=port)
    try:
        wait_for(lambda: _status(camera) == CameraStatus.RUNNING, 30, what="recovery")
        data = wait_for(lambda: live.get_live_metrics(camera.pk), 30, what="live figures")
        assert data["camera_id"] == camera.pk and data["frame_width"] == 768
        wait_for(lambda: Metric.objects.filter(camera=camera).exists(), 30, what="metric rows")
    finally:
        services.stop_camera(camera)
        wait_for(lambda: not leases.is_running(camera.pk), 10, what="the runner to stop")
        server.close()
