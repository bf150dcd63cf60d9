"""Still pictures of a camera for pages: the zone editor draws on an unannotated one.

A file camera's still is read from its file (the first frame: the same scene, the same size,
running or not). A live source (RTSP, HTTP, USB) is held by its runner, and a second
connection may be refused (camera licences, a webcam opens once), so the editor asks that
runner for one frame as it came (a wish in Redis, consumed by the live-frame sink within a
second or so) and waits a little for it. A stopped live camera is held by nobody: the still
is one frame from a connection of our own (within PROBE_TIMEOUT_S), so zones can be drawn
before the camera's first start.
"""

from __future__ import annotations

import time

import cv2
from django.core.exceptions import ValidationError
from redis.exceptions import RedisError

from cameras import live
from cameras.models import Camera, SourceType
from cameras.runtime import leases
from cameras.sources import resolve_upload_path, test_connection

RAW_WAIT_S = 4.0  # the runner answers at its next live frame after its next wish check (≤ ~1.2 s)
RAW_POLL_S = 0.1


PROBE_TIMEOUT_S = 5.0


def _jpeg(frame) -> bytes | None:
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return buf.tobytes() if ok else None


def first_frame_jpeg(camera: Camera) -> bytes | None:
    """The first frame of a file camera's video as JPEG, or None when it cannot be read."""
    if camera.source_type != SourceType.FILE or not camera.source:
        return None
    try:
        path = resolve_upload_path(camera.source)
    except ValidationError:
        return None
    cap = cv2.VideoCapture(str(path))
    try:
        ok, frame = cap.read()
    finally:
        cap.release()
    if not ok or frame is None:
        return None
    return _jpeg(frame)


def raw_still(camera: Camera, wait_s: float = RAW_WAIT_S) -> bytes | None:
    """An unannotated JPEG of the camera, or None when there is none to be had."""
    if camera.source_type == SourceType.FILE:
        return first_frame_jpeg(camera)
    try:
        running = leases.is_running(camera.pk)
    except RedisError:
        return None
    if not running:
        probe = test_connection(camera.source_type, camera.source, timeout_s=PROBE_TIMEOUT_S)
        return _jpeg(probe.frame) if probe.ok and probe.frame is not None else None
    try:
        live.wish_raw_still(camera.pk)
        deadline = time.monotonic() + wait_s
        while (jpeg := live.get_raw_still(camera.pk)) is None and time.monotonic() < deadline:
            time.sleep(RAW_POLL_S)
    except RedisError:
        return None
    return jpeg
