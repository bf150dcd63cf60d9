"""Decoding in a child process: a decoder crash or hang costs one camera, never the process
that hosts several (issue #15: "a crash in one camera's decoding does not take down the others")."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from analytics.models import Metric
from cameras import services
from cameras.capture import DecoderFailed
from cameras.models import Camera, CameraStatus
from cameras.runtime.readers import FileReader, LiveReader
from cameras.sources import ResolvedSource
from cameras.uploads import import_video_file
from tests.support import Worker, decoder_children, wait_for


def _file(path: Path) -> ResolvedSource:
    return ResolvedSource("file", str(path), is_live=False)


def _frames(reader: FileReader, n: int) -> list:
    return [reader.next_frame() for _ in range(n)]


def test_a_child_decoder_gives_the_same_frames_and_times_as_opencv(vtest_avi):
    direct = FileReader(_file(vtest_avi), 5.0)
    child = FileReader(_file(vtest_avi), 5.0, isolated=True)
    try:
        pid = child.cap.pid
        assert pid != os.getpid() and Path(f"/proc/{pid}").exists()
        ours, theirs = _frames(direct, 12), _frames(child, 12)
        assert [f.index for f in theirs] == [f.index for f in ours] == list(range(0, 24, 2))
        assert [f.timestamp for f in theirs] == pytest.approx([f.timestamp for f in ours])
        assert all(np.array_equal(a.image, b.image) for a, b in zip(ours, theirs, strict=True))
    finally:
        direct.close()
        child.close()
    assert child.cap.process.poll() == 0  # released: the decoder left cleanly


def test_a_crashed_decoder_is_an_error_on_its_camera_not_the_end_of_the_file(vtest_avi):
    reader = FileReader(_file(vtest_avi), 5.0, isolated=True)
    try:
        assert reader.next_frame() is not None
        os.kill(reader.cap.pid, signal.SIGSEGV)
        with pytest.raises(DecoderFailed, match=r"crashed \(SIGSEGV\)"):
            for _ in range(100):  # frames may already be in flight; the next call finds it dead
                reader.next_frame()
        with pytest.raises(DecoderFailed, match="SIGSEGV"):  # stays failed: never "end of file"
            reader.next_frame()
    finally:
        reader.close()


def test_a_hung_decoder_is_stopped_and_reported(vtest_avi, monkeypatch):
    monkeypatch.setattr("cameras.capture.HANG_MARGIN_S", 0.5)
    reader = FileReader(_file(vtest_avi), 5.0, isolated=True)
    reader.cap.timeout_s = 0.25  # the open is done: answers are now due within 1 s
    try:
        assert reader.next_frame() is not None
        os.kill(reader.cap.pid, signal.SIGSTOP)  # frozen, as a decoder stuck in native code
        started = time.monotonic()
        with pytest.raises(DecoderFailed, match="hung"):
            reader.next_frame()
        assert time.monotonic() - started < 5
        assert reader.cap.process.wait(5) == -signal.SIGKILL
    finally:
        reader.close()


def test_a_live_reader_reconnects_with_a_new_decoder_after_a_crash(vtest_avi):
    # A file opened as a live source: the reader reads it at full speed, like a stream.
    reader = LiveReader(ResolvedSource("rtsp", str(vtest_avi), is_live=True), open_timeout_s=5,
                        watchdog_s=5, backoff_initial_s=0.2, backoff_max_s=0.5, isolated=True).start()
    try:
        assert reader.latest(0, timeout_s=30) is not None
        assert reader.connections == 1
        first = reader_pid(reader)
        os.kill(first, signal.SIGSEGV)
        wait_for(lambda: "crashed (SIGSEGV)" in reader.detail, 10, what="the crash reported")
        wait_for(lambda: reader.connections == 2 and reader.state == "running", 30, what="a new decoder")
        assert reader_pid(reader) != first
    finally:
        reader.stop()


def reader_pid(reader: LiveReader) -> int:
    """The reader's decoder: the one decoding child of this test process."""
    children = decoder_children(os.getpid())
    assert len(children) == 1, children
    return children[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(300)
def test_one_cameras_decoder_crash_leaves_the_other_camera_of_its_process_running(
    media_root, clip_long, clip4, test_model
):
    worker = Worker(media_root, name="isolated", queues="streams", pool="threads", concurrency=2,
                    extra_env={"CROWDSAFE_CAMERAS_PER_PROCESS": "2"})
    try:
        doomed = services.create_camera(name="Doomed gate", area_m2=40, target_fps=5)
        import_video_file(doomed, clip_long)
        assert services.start_camera(doomed)
        wait_for(lambda: Metric.objects.filter(camera=doomed).exists(), 120, what="the first metrics")
        victim = decoder_children(worker.proc.pid)
        assert len(victim) == 1, victim
        healthy = services.create_camera(name="Healthy gate", area_m2=40, target_fps=10)
        import_video_file(healthy, clip4)
        assert services.start_camera(healthy)
        wait_for(lambda: len(decoder_children(worker.proc.pid)) == 2, 60, what="the second decoder")
        os.kill(victim[0], signal.SIGSEGV)

        wait_for(lambda: Camera.objects.get(pk=doomed.pk).status == CameraStatus.ERROR, 60,
                 what="the crashed camera in error")
        assert "decoder crashed (SIGSEGV)" in Camera.objects.get(pk=doomed.pk).status_detail
        wait_for(lambda: Camera.objects.get(pk=healthy.pk).status == CameraStatus.FINISHED, 180,
                 what="the other camera to finish")
        assert worker.proc.poll() is None  # the process hosting both lives on
    finally:
        worker.stop()
    rows = Metric.objects.filter(camera=healthy, zone=None).order_by("timestamp")
    assert [r.frames for r in rows] == [10, 10, 10, 10]


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(300)
def test_isolated_decoding_also_works_in_a_prefork_pool_child(media_root, clip4, test_model):
    # Celery's prefork children are daemonic: they may not start multiprocessing children.
    worker = Worker(media_root, name="prefork-isolated", queues="streams", concurrency=1,
                    extra_env={"CROWDSAFE_DECODE_ISOLATION": "true"})
    try:
        camera = services.create_camera(name="Side gate", area_m2=40, target_fps=10)
        import_video_file(camera, clip4)
        assert services.start_camera(camera)
        ended = (CameraStatus.FINISHED, CameraStatus.ERROR)
        wait_for(lambda: Camera.objects.get(pk=camera.pk).status in ended, 180, what="the camera to end")
        camera.refresh_from_db()
        assert camera.status == CameraStatus.FINISHED, camera.status_detail
    finally:
        worker.stop()
    rows = Metric.objects.filter(camera=camera, zone=None).order_by("timestamp")
    assert [r.frames for r in rows] == [10, 10, 10, 10]
