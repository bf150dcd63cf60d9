"""Worker shutdown (SIGTERM): runners end cleanly. A worker of its own, not the shared one."""

from __future__ import annotations

import signal

import pytest

from cameras import services
from cameras.models import Camera, CameraStatus, DesiredState, Recording
from cameras.runtime import leases
from cameras.uploads import import_video_file
from tests.support import Worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


def _status(camera: Camera) -> str:
    camera.refresh_from_db()
    return camera.status


def test_worker_sigterm_stops_runners_cleanly(media_root, test_model, clip_long):
    camera = services.create_camera(name="Gate D", area_m2=40, target_fps=5)
    import_video_file(camera, clip_long)
    camera.refresh_from_db()
    worker = Worker(media_root, name="sigterm", concurrency=1, queues="streams")
    try:
        assert services.start_camera(camera)
        holder = wait_for(lambda: leases.lease_holder(camera.pk), 60, what="a runner")
        wait_for(lambda: _status(camera) == CameraStatus.RUNNING, 60, what="running")
        worker.proc.send_signal(signal.SIGTERM)  # warm shutdown of the whole worker
        assert worker.proc.wait(30) == 0, worker.output()
    finally:
        worker.stop()
    assert holder["pid"] != worker.proc.pid  # the runner ran in a pool process
    camera.refresh_from_db()
    assert camera.status == CameraStatus.STOPPED and "shut down" in camera.status_detail
    assert camera.desired_state == DesiredState.RUNNING  # the wish survives: reconcile restarts it
    assert not leases.is_running(camera.pk)  # lease released, not left to expire
    recording = Recording.objects.get(camera=camera)  # the open segment was finalised
    assert recording.frames > 0 and recording.size_bytes > 1000
