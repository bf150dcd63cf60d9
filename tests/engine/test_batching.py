"""The shared, batching detector: cameras in threads of one process, one model call per batch
(issue #15), with the real model on real images."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from ultralytics.utils import ASSETS

from analytics.engine import CrowdEngine, EngineConfig
from analytics.engine.batching import BatchingDetector


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    return [cv2.imread(str(Path(ASSETS) / name)) for name in ("bus.jpg", "zidane.jpg")]


def same(a, b) -> bool:
    return (
        len(a) == len(b) and np.allclose(a.xyxy, b.xyxy, atol=1.0) and np.allclose(a.conf, b.conf, atol=1e-3)
    )


def test_requests_from_several_cameras_go_through_the_model_as_one_call(detector, images):
    alone = [detector.detect(image) for image in images]
    low = detector.detect(images[0], conf=0.1)
    batcher = BatchingDetector(detector, window_s=1.0)  # long window: all four meet in one call
    start = threading.Barrier(4)
    got: dict[str, object] = {}

    def camera(name: str, call) -> None:
        start.wait()
        got[name] = call()

    calls = {
        "bus": lambda: batcher.detect(images[0]),
        "zidane": lambda: batcher.detect(images[1]),
        "bus+tiles": lambda: batcher.detect_batch([images[0], images[1]]),
        "bus at 0.1": lambda: batcher.detect(images[0], conf=0.1),
    }
    threads = [threading.Thread(target=camera, args=item) for item in calls.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert batcher.stats.requests == 4 and batcher.stats.calls < 4 and batcher.stats.largest >= 2
    # Each camera gets what the detector gives it alone, its own confidence included.
    assert same(got["bus"], alone[0]) and same(got["zidane"], alone[1])
    assert same(got["bus+tiles"][0], alone[0]) and same(got["bus+tiles"][1], alone[1])
    assert same(got["bus at 0.1"], low) and len(low) >= len(alone[0])


def test_a_camera_alone_is_not_kept_waiting_for_others(detector, images):
    batcher = BatchingDetector(detector, window_s=30.0)
    started = time.monotonic()
    for _ in range(3):
        batcher.detect(images[0])
    assert time.monotonic() - started < 30.0  # no window waited: nobody else calls it
    assert batcher.stats.calls == 3


def test_a_failed_model_call_fails_its_frames_and_the_batcher_goes_on(detector, images):
    batcher = BatchingDetector(detector)
    with pytest.raises(Exception):  # noqa: B017 - whatever the backend raises reaches the caller
        batcher.detect_batch([np.zeros((0, 0, 3), np.uint8)])
    assert same(batcher.detect(images[0]), detector.detect(images[0]))


def test_engines_of_two_cameras_share_it(detector, images):
    batcher = BatchingDetector(detector)
    shared = CrowdEngine(batcher, EngineConfig(tiling="off"))
    direct = CrowdEngine(detector, EngineConfig(tiling="off"))
    assert shared.process(images[0], 0.0).count == direct.process(images[0], 0.0).count >= 3
