"""Stream slots (issue #11): visible in the API, health and the cameras page; a camera waiting
for one says so; a dead source gives its slot back so a live camera runs. A real worker."""

from __future__ import annotations

import re

import pytest

from cameras import services
from cameras.models import Camera, CameraStatus, SourceType
from cameras.runtime import capacity, leases
from cameras.uploads import import_video_file
from tests.support import Worker, free_port, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

BUSY = "Waiting for a stream slot: the only stream slot is busy."


def _refresh(camera: Camera) -> Camera:
    camera.refresh_from_db()
    return camera


def test_a_dead_source_gives_its_slot_back_and_waiting_cameras_say_why(
    media_root, test_model, clip_long, client_as, viewer_user
):
    dead = services.create_camera(
        name="Dead source", source_type=SourceType.HTTP, area_m2=40,
        source=f"http://127.0.0.1:{free_port()}/video.mjpg",  # nothing listens there
    )
    live = services.create_camera(name="Live", area_m2=40, target_fps=2)
    import_video_file(live, clip_long)
    env = {"CROWDSAFE_SLOT_RELEASE_BACKOFF_S": "1.5", "CROWDSAFE_PACE_FILES": "true"}
    worker = Worker(media_root, name="slots", concurrency=1, queues="streams", extra_env=env)
    try:
        wait_for(lambda: capacity.stream_capacity().slots == 1, 30, what="the worker's slot in Redis")
        assert services.start_camera(dead)
        wait_for(lambda: leases.lease_holder(dead.pk), 90, what="the dead camera's runner")
        assert services.start_camera(_refresh(live))
        assert _refresh(live).status == CameraStatus.STARTING and live.status_detail == BUSY

        health = client_as(viewer_user).get("/api/system/health/").json()
        assert health["stream_slots"] == {"slots": 1, "busy": 1, "free": 0}
        stats = client_as(viewer_user).get("/api/system/stats/").json()
        assert stats["stream_slots"] == {"slots": 1, "busy": 1, "free": 0}
        page = client_as(viewer_user).get("/cameras/").content.decode()
        slots_line = re.search(r'<p[^>]*id="stream-slots"[^>]*>(.*?)</p>', page, re.S)
        assert slots_line and "Stream slots: 1 of 1 busy" in slots_line.group(1), page[-3000:]

        # The dead source reaches the long backoff, gives the slot back: the live camera runs.
        wait_for(lambda: _refresh(live).status == CameraStatus.RUNNING, 90, what="the live camera running")
        dead = _refresh(dead)
        assert dead.status == CameraStatus.RECONNECTING and "Stream slot given back" in dead.status_detail
        assert not leases.is_running(dead.pk) and capacity.is_parked(dead.pk)

        # Reconcile (beat) starts it again after its backoff; it queues for the slot, saying so.
        wait_for(lambda: not capacity.is_parked(dead.pk), 10, what="the end of the backoff")
        assert dead.pk in services.reconcile()["restarted"]
        dead = _refresh(dead)
        assert dead.status == CameraStatus.RECONNECTING and dead.status_detail.endswith(BUSY)
        assert leases.lease_holder(live.pk) and _refresh(live).status == CameraStatus.RUNNING
    finally:
        worker.stop()
