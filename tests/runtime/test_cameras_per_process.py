"""Several cameras in one worker process, sharing one batching detector (issue #15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.models import Metric
from cameras import services
from cameras.models import Camera, CameraStatus
from cameras.uploads import import_video_file
from crowdsafe.streams_worker import worker_argv
from tests.support import Worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


def test_the_streams_worker_is_pooled_as_the_setting_says(settings):
    settings.CROWDSAFE_CAMERAS_PER_PROCESS = 1
    argv = worker_argv(["-c", "4", "-n", "s@h"])
    assert argv[argv.index("-P"):] == ["-P", "prefork", "-c", "4", "-n", "s@h"]
    settings.CROWDSAFE_CAMERAS_PER_PROCESS = 8
    argv = worker_argv(["-c", "4", "--concurrency=3", "-n", "s@h"])
    assert argv[argv.index("-P"):] == ["-P", "threads", "-c", "8", "-n", "s@h"]


def test_two_file_cameras_run_to_the_end_in_one_process(media_root, clip4, test_model):
    worker = Worker(media_root, name="shared", queues="streams", pool="threads", concurrency=2,
                    extra_env={"CROWDSAFE_CAMERAS_PER_PROCESS": "2"})
    try:
        cameras = []
        for name in ("Left gate", "Right gate"):
            camera = services.create_camera(name=name, area_m2=40, target_fps=10)
            import_video_file(camera, clip4)
            cameras.append(camera)
        for camera in cameras:
            assert services.start_camera(camera)

        def finished() -> bool:
            states = dict(Camera.objects.filter(pk__in=[c.pk for c in cameras]).values_list("pk", "status"))
            assert CameraStatus.ERROR not in states.values(), Camera.objects.values_list("status_detail")
            return all(s == CameraStatus.FINISHED for s in states.values())

        wait_for(finished, 240, what="both cameras to finish")
        # Both ran in the worker's one process: a threads pool forks no pool children, and the
        # cameras' decoders (isolated by default here) have ended with their cameras.
        pid = worker.proc.pid
        assert [c for f in Path(f"/proc/{pid}/task").glob("*/children") for c in f.read_text().split()] == []
    finally:
        worker.stop()
    for camera in cameras:
        rows = Metric.objects.filter(camera=camera, zone=None).order_by("timestamp")
        assert [r.frames for r in rows] == [10, 10, 10, 10], camera.name
