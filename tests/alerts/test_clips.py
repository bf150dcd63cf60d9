"""Event clips as the runner drives them: the alerts sink raises, the clip sink (next in line)
cuts the annotated video around the trigger in its own thread, through the real H.264 writer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from alerts import clips
from alerts.clip_store import purge_old_clips
from alerts.models import Alert
from cameras.runtime.sinks import FrameOutput
from tests.alerts.clip_feed import FPS, ORIGIN, Runner, number, painted
from tests.alerts.frames import jpeg, make_frame, timeline

# The encoder thread has a database connection of its own: it sees committed rows only.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _short_clips(settings):
    settings.CROWDSAFE_EVENT_CLIP_PRE_S = 2.0
    settings.CROWDSAFE_EVENT_CLIP_POST_S = 3.0


def read_clip(alert: Alert) -> tuple[list[int], tuple[int, int], float]:
    """The clip's frames (their numbers), size and frame rate, decoded by OpenCV."""
    cap = cv2.VideoCapture(alert.clip.path)
    assert cap.isOpened(), alert.clip.path
    fps = cap.get(cv2.CAP_PROP_FPS)
    levels, size = [], (0, 0)
    while True:
        ok, image = cap.read()
        if not ok:
            break
        size = (image.shape[1], image.shape[0])
        levels.append(number(image))
    cap.release()
    return levels, size, fps


def test_an_alert_gets_its_clip_from_the_pre_roll_to_the_post_roll(camera):
    run = Runner(camera)
    run.feed(0, 8, density=4.5)  # WARNING after the 2 s debounce, at 2.0 s
    assert len(run.clips.ring) <= run.clips.ring.maxlen == 21  # 2 s x 10 fps + 1: the memory bound
    run.clips.close()

    (alert,) = Alert.objects.all()
    assert alert.video_time_s == pytest.approx(2.0)
    assert alert.clip.name.startswith(f"clips/{camera.pk}/") and alert.clip.name.endswith(".mp4")
    assert alert.clip_start_s == pytest.approx(0.0)  # 2 s of pre-roll
    assert alert.clip_duration_s == pytest.approx(5.1)  # 0.0 .. 5.0 s, a frame each 0.1 s
    levels, size, fps = read_clip(alert)
    assert fps == pytest.approx(FPS) and size == (640, 360)  # downscaled to 640 wide
    assert len(levels) == 51
    assert levels == list(range(51))  # from the pre-roll's first frame (0.0 s) to 5.0 s, none lost
    snapshot = cv2.imdecode(np.frombuffer(alert.snapshot.read(), np.uint8), cv2.IMREAD_COLOR)
    assert number(snapshot) == 20  # the snapshot is the trigger frame, 2 s into the clip
    assert Path(alert.clip.path).read_bytes()[4:8] == b"ftyp"  # MP4


def test_a_second_alert_in_the_window_shares_and_extends_the_clip(camera):
    run = Runner(camera)
    run.feed(0, 3, density=4.5)  # density alert at 2.0 s: clip until 5.0 s
    run.feed(3, 10, density=4.5, surge=0.8)  # surge alert at 5.0 s joins it: until 8.0 s
    run.clips.close()

    first, second = Alert.objects.order_by("pk")
    assert (first.trigger, second.trigger) == ("density", "surge")
    assert second.video_time_s == pytest.approx(5.0)
    assert first.clip.name == second.clip.name != ""
    assert second.clip_start_s == pytest.approx(0.0) and second.clip_duration_s == pytest.approx(8.1)
    levels, _, _ = read_clip(second)
    assert levels == list(range(81))
    assert len(list(Path(first.clip.path).parent.iterdir())) == 1  # one file for both

    path = Path(first.clip.path)
    first.delete()
    assert path.exists()  # the other alert still shows it
    second.delete()
    assert not path.exists()


def test_a_camera_stopping_mid_post_roll_leaves_a_shorter_playable_clip(camera):
    run = Runner(camera)
    run.feed(0, 3, density=4.5)  # raised at 2.0 s; 2 s of the 3 s post-roll never come
    run.clips.discard()  # the lease is lost: the open clip is finalised all the same
    run.clips.close()

    (alert,) = Alert.objects.all()
    assert alert.clip_duration_s == pytest.approx(3.0)  # 0.0 .. 2.9 s
    levels, _, _ = read_clip(alert)
    assert levels == list(range(30))


def test_a_slow_source_is_clipped_in_the_videos_own_time(camera):
    """Frames every 0.5 s (a struggling camera) are repeated: 1 s of clip is 1 s of video."""
    run = Runner(camera)
    for ts in timeline(0, 8, 2):
        image = painted(ts, (640, 360))
        frame = FrameOutput(make_frame(ts, 4.5), lambda: jpeg(), annotated=image, wall=ORIGIN)
        run.alerts.on_frame(run.context, frame)
        run.clips.on_frame(run.context, frame)
    run.clips.close()

    (alert,) = Alert.objects.all()
    assert alert.clip_start_s == pytest.approx(0.0)
    assert alert.clip_duration_s == pytest.approx(5.1)
    levels, _, _ = read_clip(alert)
    assert levels == [n - n % 5 for n in range(51)]  # each frame shown for its 0.5 s


def test_alerts_raised_outside_a_runner_are_not_clipped(camera, settings):
    from alerts.hooks import on_frame

    for ts in timeline(0, 3):
        on_frame(camera, make_frame(ts, 4.5), jpeg())
    assert Alert.objects.get().clip.name == ""
    assert camera.pk not in clips._sinks  # no runner of this camera here: nothing to clip


def test_clips_off_keeps_no_frames_and_no_thread(camera, settings):
    settings.CROWDSAFE_EVENT_CLIPS_ENABLED = False
    run = Runner(camera)
    run.feed(0, 4, density=4.5)
    run.clips.close()
    assert run.clips.encoder is None and len(run.clips.ring) == 0
    assert Alert.objects.get().clip.name == ""


def test_retention_deletes_old_clips_and_keeps_the_alerts(camera, settings):
    run = Runner(camera)
    run.feed(0, 6, density=4.5)
    run.clips.close()
    alert = Alert.objects.get()
    path = Path(alert.clip.path)
    assert path.exists()

    settings.CROWDSAFE_RECORDINGS_RETENTION_DAYS = 7
    assert purge_old_clips() == 0 and path.exists()  # a fresh clip stays
    Alert.objects.filter(pk=alert.pk).update(created_at=datetime(2020, 1, 1, tzinfo=UTC))
    assert purge_old_clips() == 1
    assert not path.exists()
    alert.refresh_from_db()
    assert alert.clip.name == "" and alert.clip_duration_s is None and alert.message  # the alert stays


def test_retention_also_deletes_old_files_no_alert_took(camera, settings):
    """A runner killed mid-clip leaves a file no alert points to: it goes once as old."""
    import os

    settings.CROWDSAFE_RECORDINGS_RETENTION_DAYS = 7
    folder = Path(settings.MEDIA_ROOT) / "clips" / str(camera.pk)
    folder.mkdir(parents=True)
    old, fresh = folder / "old.mp4", folder / "fresh.mp4"  # fresh: maybe still being written
    old.write_bytes(b"0" * 100)
    fresh.write_bytes(b"0" * 100)
    os.utime(old, (0, 0))
    assert purge_old_clips() == 1
    assert not old.exists() and fresh.exists()


def test_deleting_the_camera_deletes_its_clips(camera):
    run = Runner(camera)
    run.feed(0, 6, density=4.5)
    run.clips.close()
    path = Path(Alert.objects.get().clip.path)
    assert path.exists()
    camera.delete()
    assert not path.exists()
