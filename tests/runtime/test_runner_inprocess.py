"""The runner loop in this process (no Celery): a file camera end to end, fast to debug."""

from __future__ import annotations

import time

import cv2
import pytest

from analytics.models import Metric
from cameras import live, runner, services
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


def test_live_frames_are_encoded_at_most_live_frame_hz(clip4, test_model, media_root, monkeypatch):
    """40 frames processed as fast as possible: viewers get at most 2 of them a second."""
    from cameras import live

    monkeypatch.setenv("CROWDSAFE_LIVE_FRAME_HZ", "2")
    stored: list[tuple[int, bytes]] = []
    real_store = live.store_frame

    def store_and_count(camera_id, seq, jpeg, heatmap_jpeg=None):
        stored.append((seq, jpeg[:2]))
        real_store(camera_id, seq, jpeg, heatmap_jpeg)

    monkeypatch.setattr(live, "store_frame", store_and_count)
    camera = services.create_camera(name="Throttled", area_m2=50, target_fps=10)
    import_video_file(camera, clip4)
    camera.refresh_from_db()
    camera.desired_state = DesiredState.RUNNING
    camera.save()
    started = time.monotonic()
    assert runner.run(camera.pk) == runner.FINISHED
    elapsed = time.monotonic() - started

    assert stored[0] == (1, b"\xff\xd8")  # the first frame is shown at once, as JPEG
    assert 1 <= len(stored) <= 2 * elapsed + 1 and len(stored) < 40
    assert [seq for seq, _ in stored] == sorted({seq for seq, _ in stored})


def test_a_file_camera_shut_down_midway_resumes_where_it_stopped(clip4, test_model, media_root, monkeypatch):
    """A worker restart must not analyse the file again from the start (duplicate figures)."""
    from cameras import progress

    monkeypatch.setenv("CROWDSAFE_CAMERA_HEARTBEAT_S", "0.2")
    monkeypatch.setenv("CROWDSAFE_PACE_FILES", "true")  # 4 s of video in ~4 s: heartbeats in between
    camera = services.create_camera(name="Resumed", area_m2=50, target_fps=10)
    import_video_file(camera, clip4)
    camera.refresh_from_db()
    camera.desired_state = DesiredState.RUNNING
    camera.save()
    started = time.monotonic()

    def shut_down_after_2_s_of_video() -> bool:  # asked on every heartbeat, the first at the start
        # The video's own clock (live metrics, pushed twice a second), not the wall clock: on a
        # loaded machine 2.2 s of wall time analysed less than 2 s of video.
        data = live.get_live_metrics(camera.pk) or {}
        return data.get("timestamp", 0.0) >= 2.2 or time.monotonic() - started > 60

    assert runner.run(camera.pk, should_stop=shut_down_after_2_s_of_video) == runner.SHUTDOWN

    first = list(Metric.objects.filter(camera=camera, zone=None).order_by("timestamp"))
    saved = progress.load(camera.pk, camera.source)
    assert 2 <= len(first) <= 3 and saved is not None
    assert saved.resume_s == len(first)  # the second after the last row written
    assert saved.origin == first[0].timestamp

    camera.refresh_from_db()
    assert camera.desired_state == DesiredState.RUNNING  # the wish outlives the worker
    monkeypatch.setenv("CROWDSAFE_PACE_FILES", "false")
    assert runner.run(camera.pk) == runner.FINISHED
    rows = list(Metric.objects.filter(camera=camera, zone=None).order_by("timestamp"))
    seconds = [(r.timestamp - first[0].timestamp).total_seconds() for r in rows]
    assert seconds == [0, 1, 2, 3]  # each second of the video once, on one time axis
    assert rows[-1].frames == 10
    assert progress.load(camera.pk, camera.source) is None  # finished: a new start starts over
