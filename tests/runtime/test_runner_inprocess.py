"""The runner loop in this process (no Celery): a file camera end to end, fast to debug."""

from __future__ import annotations

import cv2
import pytest

from analytics.models import Metric
from cameras import runner, services
from cameras.models import CameraStatus, DesiredState, Recording
from cameras.uploads import import_video_file

pytestmark = pytest.mark.django_db(transaction=True)


def test_file_camera_runs_to_the_end_in_process(clip4, test_model, media_root):
    camera = services.create_camera(name="In process", area_m2=50, target_fps=10)
    import_video_file(camera, clip4)
    camera.refresh_from_db()
    camera.desired_state = DesiredState.RUNNING
    camera.save()

    assert runner.run(camera.pk) == runner.FINISHED

    camera.refresh_from_db()
    assert camera.status == CameraStatus.FINISHED
    assert camera.desired_state == DesiredState.STOPPED
    rows = Metric.objects.filter(camera=camera, zone=None).order_by("timestamp")
    assert rows.count() == 4
    assert [r.frames for r in rows] == [10, 10, 10, 10]
    recording = Recording.objects.get(camera=camera)
    cap = cv2.VideoCapture(str(media_root / recording.file.name))
    frames = 0
    while cap.read()[0]:
        frames += 1
    assert frames == recording.frames == 40
