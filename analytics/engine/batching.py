"""One detector for the cameras of a process, with cross-camera micro-batching.

Each camera's runner calls `detect_batch` (its frame and tiles) from its own thread. The
requests that arrive while the model is busy, or within `window_s` of the first one, go
through the model as one batch, which is what makes a GPU (and, less so, a CPU) serve many
cameras. A camera alone is never kept waiting: the batcher waits for others only while other
cameras called it lately. A model call that fails fails the frames it carried, and the batcher
goes on.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .detector import Detections, Detector


@dataclass
class _Request:
    images: list[np.ndarray]
    conf: float
    iou: float
    imgsz: int
    caller: int
    done: threading.Event = field(default_factory=threading.Event)
    result: list[Detections] | None = None
    error: BaseException | None = None


@dataclass
class BatchStats:
    calls: int = 0  # model calls
    requests: int = 0  # detect_batch calls served
    images: int = 0  # images through the model
    largest: int = 0  # most requests in one model call


class BatchingDetector:
    """A `Detector` shared by threads; same interface (`detect`, `detect_batch`, and every
    attribute of the wrapped detector)."""

    def __init__(self, detector: Detector, window_s: float = 0.005, max_images: int = 64,
                 active_s: float = 2.0) -> None:
        self.detector = detector
        self.window_s = window_s
        self.max_images = max_images
        self.active_s = active_s  # a camera that called within this long is waited for
        self.stats = BatchStats()
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._seen: dict[int, float] = {}  # caller thread -> monotonic time of its last call
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="crowdsafe-batcher")
        self._thread.start()

    def __getattr__(self, name: str) -> Any:  # config, effective_imgsz, native_features, ...
        return getattr(self.detector, name)

    def detect(self, frame_bgr: np.ndarray, conf: float | None = None, iou: float | None = None,
               imgsz: int | None = None) -> Detections:
        return self.detect_batch([frame_bgr], conf, iou, imgsz)[0]

    def detect_batch(self, images_bgr: list[np.ndarray], conf: float | None = None,
                     iou: float | None = None, imgsz: int | None = None) -> list[Detections]:
        cfg = self.detector.config
        caller = threading.get_ident()
        with self._lock:
            self._seen[caller] = time.monotonic()
        request = _Request(
            list(images_bgr), cfg.conf if conf is None else conf, cfg.iou if iou is None else iou,
            self.detector.effective_imgsz(imgsz), caller,
        )
        self._queue.put(request)
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    # -- the batching thread -----------------------------------------------------------------
    def _others_active(self, callers: set[int]) -> bool:
        now = time.monotonic()
        with self._lock:
            for caller, seen in list(self._seen.items()):
                if now - seen > self.active_s:
                    del self._seen[caller]
            return any(caller not in callers for caller in self._seen)

    def _collect(self) -> list[_Request]:
        batch = [self._queue.get()]
        deadline = time.monotonic() + self.window_s
        while sum(len(r.images) for r in batch) < self.max_images:
            try:
                batch.append(self._queue.get_nowait())  # arrived while the model was busy
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._others_active({r.caller for r in batch}):
                break
            try:
                batch.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _serve(self) -> None:
        while True:
            batch = self._collect()
            groups: dict[tuple[float, int], list[_Request]] = {}
            for request in batch:  # one model call per NMS IoU and input size
                groups.setdefault((request.iou, request.imgsz), []).append(request)
            for (iou, imgsz), requests in groups.items():
                self._run(requests, iou, imgsz)

    def _run(self, requests: list[_Request], iou: float, imgsz: int) -> None:
        try:
            self._detect(requests, iou, imgsz)
        except BaseException as exc:  # noqa: BLE001 - handed to the callers, the thread goes on
            for r in requests:
                if not r.done.is_set():
                    r.error = exc
                    r.done.set()

    def _detect(self, requests: list[_Request], iou: float, imgsz: int) -> None:
        # At the lowest confidence asked for; each request keeps the boxes at or above its own
        # (confidence filtering is per box, so the result is what it would have got alone).
        conf = min(r.conf for r in requests)
        images = [image for r in requests for image in r.images]
        found = self.detector.detect_batch(images, conf=conf, iou=iou, imgsz=imgsz)
        self.stats.calls += 1
        self.stats.requests += len(requests)
        self.stats.images += len(images)
        self.stats.largest = max(self.stats.largest, len(requests))
        start = 0
        for r in requests:
            own = found[start:start + len(r.images)]
            start += len(r.images)
            r.result = [d if r.conf <= conf else d.subset(d.conf >= r.conf) for d in own]
            r.done.set()
