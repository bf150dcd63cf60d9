"""Fire-and-forget pushes to the Channels layer from synchronous code (runners, services).

One asyncio loop per process, in a daemon thread, owns the channel layer's Redis
connections; `push()` hands it a message and returns at once, so a slow Redis never stalls
a camera loop. When too many pushes are in flight the newest is dropped (live data is
superseded a moment later anyway) and counted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import Future

from channels.layers import get_channel_layer

from core.outages import warn_throttled

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 50


def camera_group(camera_id: int) -> str:
    return f"camera.{camera_id}"


DASHBOARD_GROUP = "dashboard"


class _Publisher:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.in_flight = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="channels-push")
        self.thread.start()

    def push(self, group: str, message: dict) -> Future | None:
        layer = get_channel_layer()
        if layer is None:
            return None
        with self._lock:
            if self.in_flight >= MAX_IN_FLIGHT:
                self.dropped += 1
                return None
            self.in_flight += 1
        future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), self.loop)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future) -> None:
        with self._lock:
            self.in_flight -= 1
        exc = future.exception()
        if exc is not None:  # e.g. Redis away: at most one log row per half minute, not per push
            warn_throttled(log, "push", "Live push failed: %s", exc)


_publisher: _Publisher | None = None
_publisher_lock = threading.Lock()


def _get_publisher() -> _Publisher:
    global _publisher
    with _publisher_lock:
        # A forked child (Celery prefork) must not reuse its parent's loop thread.
        if _publisher is None or _publisher.pid != os.getpid():
            _publisher = _Publisher()
        return _publisher


def push(group: str, event: str, data: dict) -> Future | None:
    """Send `{"type": event, "data": data}` to a group without waiting; never raises."""
    try:
        return _get_publisher().push(group, {"type": event, "data": data})
    except Exception as exc:  # the live view is best effort; the runner must go on
        warn_throttled(log, "push", "Live push to %s failed: %s", group, exc)
        return None


def flush(timeout_s: float = 2.0) -> None:
    """Wait (bounded) until the pushes in flight are out, e.g. before a runner exits."""
    publisher = _publisher
    if publisher is None or publisher.pid != os.getpid():
        return
    deadline = time.monotonic() + timeout_s
    while publisher.in_flight and time.monotonic() < deadline:
        time.sleep(0.02)
