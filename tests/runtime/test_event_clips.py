"""Event clips on real video: the runner analyses vtest.avi with the real detector, the rules
raise an alert, and the clip sink leaves a playable H.264 clip with its pre-roll."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from alerts.models import Alert
from cameras.models import Camera, Recording
from cameras.runtime import runner
from tests.runtime.helpers import cut_clip, wanted_running

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def clip8(vtest_avi, tmp_path_factory):
    """The first 8 s (80 frames) of vtest.avi."""
    return cut_clip(vtest_avi, tmp_path_factory.mktemp("clips8") / "vtest-8s.avi", 8.0)


def _crowded_camera(name: str, video) -> Camera:
    # One square metre turns vtest's handful of pedestrians into a density over the warning
    # threshold: the rules raise once it has held for their 2 s debounce.
    return wanted_running(name, video, area_m2=1.0)


def _frames(path: str) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(path)
    assert cap.isOpened(), path
    fps, frames = cap.get(cv2.CAP_PROP_FPS), []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(image)
    cap.release()
    return frames, fps


def test_an_alert_on_real_video_gets_a_clip_with_its_pre_roll(clip8, test_model, media_root, settings):
    settings.CROWDSAFE_EVENT_CLIP_PRE_S = 2.0
    settings.CROWDSAFE_EVENT_CLIP_POST_S = 3.0
    camera = _crowded_camera("Clipped", clip8)

    assert runner.run(camera.pk) == runner.FINISHED

    alert = Alert.objects.filter(camera=camera).order_by("created_at").first()
    assert alert is not None, "the rules raised nothing"
    assert 2.0 <= alert.video_time_s <= 4.5  # the debounce has passed; the post-roll fits the file
    assert alert.clip.name, "no clip attached"
    assert alert.clip_start_s == pytest.approx(alert.video_time_s - 2.0, abs=0.15)  # 2 s of pre-roll
    assert alert.clip_duration_s == pytest.approx(5.1, abs=0.15)
    frames, fps = _frames(str(media_root / alert.clip.name))
    assert fps == pytest.approx(10.0)
    assert len(frames) == round(alert.clip_duration_s * 10)  # one frame per 0.1 s of video
    assert frames[0].shape[:2] == (480, 640)  # 768x576 downscaled to 640 wide

    # The clip's first frame is the one 2 s before the trigger (in the recording of the whole
    # run), not the trigger's: the pre-roll is real.
    recording = Recording.objects.get(camera=camera)
    analysed, _ = _frames(str(media_root / recording.file.name))
    start, trigger = round(alert.clip_start_s * 10), round(alert.video_time_s * 10)
    first = cv2.resize(analysed[start], (640, 480), interpolation=cv2.INTER_AREA).astype(np.int16)
    at_trigger = cv2.resize(analysed[trigger], (640, 480), interpolation=cv2.INTER_AREA).astype(np.int16)
    clip_first = frames[0].astype(np.int16)
    assert np.abs(clip_first - first).mean() < np.abs(clip_first - at_trigger).mean()

    others = Alert.objects.filter(camera=camera).exclude(pk=alert.pk)
    assert all(o.clip.name in ("", alert.clip.name) for o in others)  # same window, same file


def test_a_file_ending_mid_post_roll_still_leaves_a_playable_clip(clip4, test_model, media_root, settings):
    settings.CROWDSAFE_EVENT_CLIP_PRE_S = 2.0
    settings.CROWDSAFE_EVENT_CLIP_POST_S = 20.0  # the file ends 2 s after the trigger
    camera = _crowded_camera("Cut short", clip4)

    assert runner.run(camera.pk) == runner.FINISHED

    alert = Alert.objects.filter(camera=camera).order_by("created_at").first()
    assert alert is not None and alert.clip.name
    assert alert.clip_start_s == pytest.approx(max(alert.video_time_s - 2.0, 0.0), abs=0.15)
    assert alert.clip_duration_s == pytest.approx(4.0 - alert.clip_start_s, abs=0.15)  # to 3.9 s
    frames, _ = _frames(str(media_root / alert.clip.name))
    assert len(frames) == round(alert.clip_duration_s * 10)
