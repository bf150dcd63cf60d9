"""Live state of running cameras in Redis (latest annotated JPEG, latest figures) and pushes.

Keys expire shortly after a runner stops writing them, so a dead camera never shows a
frozen picture as if it were live. Only the newest frame is kept (bounded memory).
"""

from __future__ import annotations

import json
import logging
import time

from redis.exceptions import RedisError

from core.outages import warn_throttled
from core.push import DASHBOARD_GROUP, camera_group, push
from core.redis import get_redis, redis_key

log = logging.getLogger(__name__)

FRAME_TTL_S = 10
METRICS_TTL_S = 15
HEATMAP_WANTED_TTL_S = 5  # an MJPEG viewer with ?heatmap=1 refreshes this while it watches
RAW_WANTED_TTL_S = 10  # the zone editor's wish for an unannotated still, taken by the runner
RAW_STILL_TTL_S = 60
LIGHT_WANTED_TTL_S = 5  # likewise a wall tile with ?overlay=light


def frame_key(camera_id: int) -> str:
    return redis_key("camera", camera_id, "frame")


def metrics_key(camera_id: int) -> str:
    return redis_key("camera", camera_id, "metrics")


def heatmap_wanted_key(camera_id: int) -> str:
    return redis_key("camera", camera_id, "heatmap-wanted")


def raw_wanted_key(camera_id: int) -> str:
    return redis_key("camera", camera_id, "raw-wanted")


def raw_still_key(camera_id: int) -> str:
    return redis_key("camera", camera_id, "raw-still")
def light_wanted_key(camera_id: int) -> str:
    return redis_key("camera", camera_id, "light-wanted")


# --- written by the runner ------------------------------------------------------------


def store_frame(
    camera_id: int, seq: int, jpeg: bytes, heatmap_jpeg: bytes | None = None, light_jpeg: bytes | None = None
) -> None:
    mapping: dict[str, bytes | int] = {"seq": seq, "jpeg": jpeg}
    if heatmap_jpeg is not None:
        mapping["heatmap"] = heatmap_jpeg
    if light_jpeg is not None:
        mapping["light"] = light_jpeg
    pipe = get_redis().pipeline(transaction=True)
    pipe.delete(frame_key(camera_id))  # drop a stale heatmap frame when nobody wants it now
    pipe.hset(frame_key(camera_id), mapping=mapping)
    pipe.expire(frame_key(camera_id), FRAME_TTL_S)
    pipe.execute()


def store_metrics(camera_id: int, data: dict) -> None:
    get_redis().set(metrics_key(camera_id), json.dumps(data), ex=METRICS_TTL_S)


def clear_live_state(camera_id: int) -> None:
    get_redis().delete(frame_key(camera_id), metrics_key(camera_id), raw_still_key(camera_id))


def heatmap_wanted(camera_id: int) -> bool:
    return get_redis().exists(heatmap_wanted_key(camera_id)) == 1


def take_raw_wish(camera_id: int) -> bool:
    """True once per wish for an unannotated still (the wish is consumed: one encode each)."""
    return get_redis().delete(raw_wanted_key(camera_id)) == 1


def store_raw_still(camera_id: int, jpeg: bytes) -> None:
    get_redis().set(raw_still_key(camera_id), jpeg, ex=RAW_STILL_TTL_S)
def light_wanted(camera_id: int) -> bool:
    return get_redis().exists(light_wanted_key(camera_id)) == 1


def want_light(camera_id: int) -> None:
    """A wall viewer wants the light rendering for the next few seconds."""
    get_redis().set(light_wanted_key(camera_id), "1", ex=LIGHT_WANTED_TTL_S)


def push_camera_update(camera_id: int, data: dict, summary: dict) -> None:
    push(camera_group(camera_id), "camera.update", data)
    push(DASHBOARD_GROUP, "dashboard.update", summary)


def push_status(camera_id: int, status: str, detail: str = "", since: str | None = None) -> None:
    """`since`: ISO time the status began (the wall's tiles say "since"); None: unknown."""
    data = {"camera_id": camera_id, "status": status, "detail": detail, "at": time.time(), "since": since}
    push(camera_group(camera_id), "camera.status", data)
    push(DASHBOARD_GROUP, "camera.status", data)


# --- read by views, the API and consumers ----------------------------------------------


# While Redis is away these answer "nothing live" (pages show no live figures) instead of failing.


def get_live_metrics(camera_id: int) -> dict | None:
    try:
        raw = get_redis().get(metrics_key(camera_id))
    except RedisError as exc:
        warn_throttled(log, "live-read", "Live figures unavailable (Redis): %s", exc)
        return None
    return None if raw is None else json.loads(raw)


def get_latest_jpeg(camera_id: int, *, heatmap: bool = False) -> bytes | None:
    field = "heatmap" if heatmap else "jpeg"
    try:
        data = get_redis().hmget(frame_key(camera_id), field, "jpeg")
    except RedisError as exc:
        warn_throttled(log, "live-read", "Live frame unavailable (Redis): %s", exc)
        return None
    return data[0] or (data[1] if heatmap else None)


def wish_raw_still(camera_id: int) -> None:
    """Ask the camera's runner for an unannotated still (the zone editor draws on it)."""
    pipe = get_redis().pipeline(transaction=True)
    pipe.delete(raw_still_key(camera_id))  # the answer must be newer than the wish
    pipe.set(raw_wanted_key(camera_id), 1, ex=RAW_WANTED_TTL_S)
    pipe.execute()


def get_raw_still(camera_id: int) -> bytes | None:
    return get_redis().get(raw_still_key(camera_id))


def get_latest_frame(camera_id: int, *, heatmap: bool = False) -> tuple[int, bytes] | None:
    """(sequence number, JPEG) of the newest frame, or None when the camera shows nothing."""
    try:
        seq, jpeg, heat = get_redis().hmget(frame_key(camera_id), "seq", "jpeg", "heatmap")
    except RedisError as exc:
        warn_throttled(log, "live-read", "Live frame unavailable (Redis): %s", exc)
        return None
    if seq is None or jpeg is None:
        return None
    return int(seq), (heat or jpeg) if heatmap else jpeg


def get_light_jpeg(camera_id: int) -> bytes | None:
    """The newest light rendering (boxes and risk badge), None while no wall viewer asked for it."""
    try:
        return get_redis().hget(frame_key(camera_id), "light")
    except RedisError as exc:
        warn_throttled(log, "live-read", "Live frame unavailable (Redis): %s", exc)
        return None
