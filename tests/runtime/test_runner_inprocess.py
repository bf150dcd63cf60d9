"""The runner loop in this process (no Celery): a file camera end to end, fast to debug."""

from __future__ import annotations

import re
import time

import cv2
import numpy as np
import pytest

from analytics.engine import FrameResult
from analytics.models import Metric
from cameras import live
from cameras.models import CameraStatus, DesiredState, Recording
from cameras.runtime import runner, sinks
from cameras.runtime.sinks import CameraContext, FrameOutput, FrameSink, SinkStart
from core.models import SystemLog
from tests.runtime.helpers import wanted_running

pytestmark = pytest.mark.django_db(transaction=True)


def test_file_camera_runs_to_the_end_in_process(clip4, test_model, media_root):
    camera = wanted_running("In process", clip4)

    assert runner.run(camera.pk) == runner.FINISHED

    camera.refresh_from_db()
    assert camera.status == CameraStatus.FINISHED
    assert camera.desired_state == DesiredState.STOPPED
    summary = r"40 frames analysed in [\d.]+ s \([\d.]+ fps\), p95 \d+ ms a frame\.$"
    assert re.search(summary, camera.status_detail), camera.status_detail
    rows = Metric.objects.filter(camera=camera, zone=None).order_by("timestamp")
    assert rows.count() == 4
    assert [r.frames for r in rows] == [10, 10, 10, 10]
    recording = Recording.objects.get(camera=camera)
    cap = cv2.VideoCapture(str(media_root / recording.file.name))
    frames = 0
    while cap.read()[0]:
        frames += 1
    assert frames == recording.frames == 40


def test_live_frames_are_encoded_at_most_live_frame_hz(clip4, test_model, media_root, settings, monkeypatch):
    """40 frames processed as fast as possible: viewers get at most 2 of them a second."""
    from cameras import live

    settings.CROWDSAFE_LIVE_FRAME_HZ = 2
    stored: list[tuple[int, bytes]] = []
    real_store = live.store_frame

    def store_and_count(camera_id, seq, jpeg, heatmap_jpeg=None, **renderings):
        stored.append((seq, jpeg[:2]))
        real_store(camera_id, seq, jpeg, heatmap_jpeg, **renderings)

    monkeypatch.setattr(live, "store_frame", store_and_count)
    camera = wanted_running("Throttled", clip4)
    started = time.monotonic()
    assert runner.run(camera.pk) == runner.FINISHED
    elapsed = time.monotonic() - started

    assert stored[0] == (1, b"\xff\xd8")  # the first frame is shown at once, as JPEG
    assert 1 <= len(stored) <= 2 * elapsed + 1 and len(stored) < 40
    assert [seq for seq, _ in stored] == sorted({seq for seq, _ in stored})


def test_a_file_camera_shut_down_midway_resumes_where_it_stopped(clip4, test_model, media_root, settings):
    """A worker restart must not analyse the file again from the start (duplicate figures)."""
    from cameras.runtime import progress
    settings.CROWDSAFE_CAMERA_HEARTBEAT_S = 0.2
    settings.CROWDSAFE_PACE_FILES = True  # 4 s of video in ~4 s: heartbeats in between
    camera = wanted_running("Resumed", clip4)
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
    settings.CROWDSAFE_PACE_FILES = False
    assert runner.run(camera.pk) == runner.FINISHED
    rows = list(Metric.objects.filter(camera=camera, zone=None).order_by("timestamp"))
    seconds = [(r.timestamp - first[0].timestamp).total_seconds() for r in rows]
    assert seconds == [0, 1, 2, 3]  # each second of the video once, on one time axis
    assert rows[-1].frames == 10
    assert progress.load(camera.pk, camera.source) is None  # finished: a new start starts over


class _Seen(FrameSink):
    """Records what the runner hands its sinks."""

    frames: list[tuple[int, int, bool]] = []  # (context id, payload id, payload is cached)

    def __init__(self, start: SinkStart) -> None:
        pass

    def on_frame(self, context: CameraContext, frame: FrameOutput) -> None:
        first = frame.payload
        _Seen.frames.append((id(context), id(first), frame.payload is first))


class _Broken(FrameSink):
    def __init__(self, start: SinkStart) -> None:
        pass

    def on_frame(self, context: CameraContext, frame: FrameOutput) -> None:
        raise RuntimeError("disk on fire")


def test_every_frame_reaches_the_sinks_serialised_once_and_a_broken_sink_stops_nothing(
    clip4, test_model, media_root, settings, monkeypatch
):
    sinks.register("test_seen", _Seen)
    sinks.register("test_broken", _Broken)
    settings.CROWDSAFE_FRAME_SINKS = [*settings.CROWDSAFE_FRAME_SINKS, "test_broken", "test_seen"]
    settings.CROWDSAFE_CAMERA_HEARTBEAT_S = 0.2
    settings.CROWDSAFE_PACE_FILES = True  # 4 s of video in ~4 s: several heartbeats
    calls = {"n": 0}
    real_to_dict = FrameResult.to_dict

    def counted(self, *args, **kwargs):
        calls["n"] += 1
        return real_to_dict(self, *args, **kwargs)

    monkeypatch.setattr(FrameResult, "to_dict", counted)
    _Seen.frames = []
    camera = wanted_running("Sinks", clip4)

    assert runner.run(camera.pk) == runner.FINISHED

    assert len(_Seen.frames) == 40  # every frame, after the broken sink
    assert calls["n"] <= 40  # alerts, live push and this sink share one serialisation per frame
    assert all(cached for _, _, cached in _Seen.frames)
    contexts = [ctx for ctx, _, _ in _Seen.frames]
    assert 1 < len(set(contexts)) < 40  # a new context at each heartbeat, not per frame
    assert Metric.objects.filter(camera=camera, zone=None).count() == 4
    failures = SystemLog.objects.filter(message__contains="test_broken sink failed")
    assert failures.count() == 1  # 40 failures, one log row (throttled)


def test_a_sink_no_app_registered_stops_the_camera_with_the_reason(clip4, test_model, media_root, settings):
    settings.CROWDSAFE_FRAME_SINKS = [*settings.CROWDSAFE_FRAME_SINKS, "crowd_counting_v2"]
    camera = wanted_running("Misconfigured", clip4)

    assert runner.run(camera.pk) == runner.FAILED
    camera.refresh_from_db()
    assert camera.status == CameraStatus.ERROR and "crowd_counting_v2" in camera.status_detail
    assert not Metric.objects.filter(camera=camera).exists()


def test_a_real_runner_ignores_masked_people_and_answers_the_editors_wish(
    clip4, test_model, media_root, monkeypatch
):
    """End to end in the runner: a mask over the whole picture leaves no one counted (the same
    clip unmasked counts people), and the zone editor's wish gets the frame as it came, without
    the annotations (the HUD at the top left is in the live frame, not in the still)."""
    from cameras.models import ExclusionArea

    raw: list[bytes] = []
    shown: list[bytes] = []
    store_raw, store_frame = live.store_raw_still, live.store_frame
    monkeypatch.setattr(live, "store_raw_still", lambda cid, jpeg: (raw.append(jpeg), store_raw(cid, jpeg)))
    monkeypatch.setattr(
        live, "store_frame",
        lambda cid, seq, jpeg, heat=None, **kw: (shown.append(jpeg), store_frame(cid, seq, jpeg, heat, **kw)),
    )
    plain = wanted_running("Unmasked", clip4)
    assert runner.run(plain.pk) == runner.FINISHED
    assert raw == []  # nobody asked
    masked = wanted_running("Masked", clip4)
    ExclusionArea.objects.create(camera=masked, name="All", polygon=[[0, 0], [1, 0], [1, 1], [0, 1]])
    live.wish_raw_still(masked.pk)
    shown.clear()
    assert runner.run(masked.pk) == runner.FINISHED

    counted = list(Metric.objects.filter(camera=plain, zone=None).values_list("count", flat=True))
    assert len(counted) == 4 and min(counted) >= 1
    masked_rows = Metric.objects.filter(camera=masked, zone=None)
    assert list(masked_rows.values_list("count", "count_max")) == [(0, 0)] * 4
    assert len(raw) == 1  # one wish, one still
    cap = cv2.VideoCapture(str(clip4))
    ok, first = cap.read()
    cap.release()

    def hud_gap(jpeg: bytes) -> float:
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == first.shape
        return float(np.abs(image[:80, :300].astype(int) - first[:80, :300].astype(int)).mean())

    assert ok and hud_gap(raw[0]) < 6 < hud_gap(shown[0])
