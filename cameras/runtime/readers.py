"""Frame readers: files in order with their own timestamps; live sources newest-frame-only.

`FileReader` yields the frames due at the camera's target rate *of video time* (others are
skipped) with timestamps from the file. `LiveReader` runs a thread that keeps only the
newest frame, reconnects with exponential backoff and drops a connection that has sent no
frame for the watchdog time. Neither ever raises on a bad stream: failures become state.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import cv2
import numpy as np

from cameras.capture import DecoderFailed
from cameras.sources import ResolvedSource, open_capture

log = logging.getLogger(__name__)


@dataclass
class Frame:
    image: np.ndarray
    timestamp: float  # seconds, source clock (file time, or wall clock for live sources)
    index: int  # position in the source (frames read so far)


class SourceOpenError(RuntimeError):
    pass


class FileReader:
    """Sequential reading of a video file; `next_frame()` returns None at the end."""

    def __init__(
        self, resolved: ResolvedSource, target_fps: float, *, pace: bool = False, isolated: bool = False
    ) -> None:
        self.cap = open_capture(resolved, timeout_s=10, isolated=isolated)
        try:
            opened = self.cap.isOpened()
        except DecoderFailed as exc:
            self.cap.release()
            raise SourceOpenError(f"The video file cannot be opened: {exc}") from exc
        if not opened:
            self.cap.release()
            raise SourceOpenError("The video file cannot be opened (missing or not a video).")
        fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.source_fps = fps if 0 < fps < 1000 else 25.0
        self.frame_count = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.interval = 1.0 / max(min(target_fps, self.source_fps), 0.01)
        self.pace = pace
        self._due = 0  # index k of the next due time k * interval
        self._read = 0
        self._wall_start: float | None = None

    def skip_to(self, ts: float) -> None:
        """Go on from source second `ts` (a resumed analysis): seek, else read up to it."""
        index = round(ts * self.source_fps)
        if index <= 0:
            return
        seeked = self.cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        if seeked and int(self.cap.get(cv2.CAP_PROP_POS_FRAMES)) == index:
            self._read = index
        else:  # the position is unknown now: read from the start, skipping what is not due
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._due = math.ceil(ts / self.interval - 1e-9)  # frames before ts are read, not decoded

    def _timestamp(self) -> float:
        # Frame index / fps is exact for constant-rate files; POS_MSEC is used when it moves
        # (variable-rate files), else it is often 0 or unreliable.
        pos_ms = self.cap.get(cv2.CAP_PROP_POS_MSEC)
        by_index = (self._read - 1) / self.source_fps
        if pos_ms and pos_ms > 0 and abs(pos_ms / 1000 - by_index) < 2.0:
            return pos_ms / 1000
        return by_index

    def next_frame(self) -> Frame | None:
        half_frame = 0.5 / self.source_fps
        while True:
            if not self.cap.grab():
                return None
            self._read += 1
            ts = self._timestamp()
            if ts + half_frame < self._due * self.interval:
                continue  # not due at the target rate: skipped without decoding colour
            ok, image = self.cap.retrieve()
            if not ok or image is None:
                continue
            self._due = math.floor(ts / self.interval + 0.5) + 1
            if self.pace:
                self._sleep_until(ts)
            return Frame(image, ts, self._read - 1)

    def _sleep_until(self, ts: float) -> None:
        now = time.monotonic()
        if self._wall_start is None:
            self._wall_start = now - ts
        delay = self._wall_start + ts - now
        if delay > 0:
            time.sleep(min(delay, 5.0))

    def close(self) -> None:
        self.cap.release()


def _thread_name(resolved: ResolvedSource) -> str:
    """Thread names reach logs and debuggers: never the URL (it may carry a password)."""
    if isinstance(resolved.target, int):
        return f"reader-usb{resolved.target}"
    host = urlsplit(str(resolved.target)).hostname or "source"
    return f"reader-{resolved.source_type}-{host}"


class LiveReader:
    """Reads a live source in a thread, keeping only the newest frame.

    `state` is "connecting", "running" or "reconnecting"; `detail`, `attempt` and
    `backoff_s` say why and for how long. The consumer calls `latest(after_seq, timeout)`.
    """

    def __init__(
        self,
        resolved: ResolvedSource,
        *,
        open_timeout_s: float,
        watchdog_s: float,
        backoff_initial_s: float,
        backoff_max_s: float,
        isolated: bool = False,
    ) -> None:
        self.resolved = resolved
        self.isolated = isolated
        self.open_timeout_s = open_timeout_s
        self.watchdog_s = watchdog_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.state = "connecting"
        self.detail = ""
        self.attempt = 0
        self.backoff_s = 0.0
        self.connections = 0
        self.source_fps = 0.0
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._seq = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=_thread_name(resolved))

    def start(self) -> LiveReader:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout_s)

    def latest(self, after_seq: int, timeout_s: float) -> tuple[int, Frame] | None:
        """The newest frame newer than `after_seq`, waiting up to `timeout_s`; else None."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._seq <= after_seq and not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if self._frame is None or self._seq <= after_seq:
                return None
            return self._seq, self._frame

    # -- reader thread -------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._read_until_failure()
            except DecoderFailed as exc:  # crashed or hung in its child: a new one on reconnect
                log.warning("Reader of %s: %s", self.resolved.source_type, exc)
                self.detail = str(exc)
            except Exception as exc:  # a broken stream must never kill the runner
                log.warning("Reader of %s failed: %s", self.resolved.source_type, exc)
                self.detail = f"Stream error: {exc}"
            if self._stop.is_set():
                return
            self.attempt += 1
            base = min(self.backoff_initial_s * 2 ** (self.attempt - 1), self.backoff_max_s)
            self.backoff_s = round(base * random.uniform(0.9, 1.1), 2)  # jitter: no thundering herd
            self.state = "reconnecting"
            self._stop.wait(self.backoff_s)

    def _read_until_failure(self) -> None:
        cap = open_capture(self.resolved, timeout_s=self.open_timeout_s, isolated=self.isolated)
        try:
            if not cap.isOpened():
                self.detail = "The source cannot be opened (unreachable, refused or not video)."
                return
            fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            self.source_fps = fps if 0 < fps < 1000 else 0.0
            self.connections += 1
            last_frame = time.monotonic()
            index = failures = 0
            while not self._stop.is_set():
                ok, image = cap.read()
                now = time.monotonic()
                if not ok or image is None:
                    failures += 1
                    if now - last_frame >= self.watchdog_s:
                        self.detail = f"No frame for {self.watchdog_s:g} s."
                        return
                    if failures >= 5 or not cap.isOpened():
                        self.detail = "The stream ended or broke off."
                        return
                    self._stop.wait(0.05)
                    continue
                last_frame, failures = now, 0
                index += 1
                self.state, self.detail, self.attempt, self.backoff_s = "running", "", 0, 0.0
                with self._cond:
                    self._seq += 1
                    self._frame = Frame(image, time.time(), index)
                    self._cond.notify_all()
            self.detail = "Stopped."
        finally:
            cap.release()


def file_frames(reader: FileReader):
    """Every due frame of a file, in order; the iteration ends with the file."""
    while (frame := reader.next_frame()) is not None:
        yield frame


def live_frames(reader: LiveReader, target_fps: float, tick_s: float = 0.5):
    """The newest frame at most `target_fps` times a second; None every `tick_s` without one
    (so the caller's heartbeat runs while a source is down). Never ends by itself."""
    interval = 1.0 / max(target_fps, 0.01)
    seq = 0
    next_due = time.monotonic()
    while True:
        wait = next_due - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, tick_s))
            if next_due - time.monotonic() > 0:
                yield None
                continue
        got = reader.latest(seq, timeout_s=tick_s)
        if got is None:
            yield None
            continue
        seq, frame = got
        # Slower than the target: take the newest at once next time (older ones are dropped).
        next_due = max(next_due + interval, time.monotonic())
        yield frame
