"""Stream slots: how many cameras the `streams` workers can run at once, and how many do.

Each streams worker says in Redis how many slots it has (its concurrency: one camera per
pool process), refreshed every few seconds by a worker bootstep and expiring soon after the
worker dies. A slot is busy while a runner holds a camera lease. Cameras waiting for a slot
say why in their status detail ("all 2 stream slots busy").
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from dataclasses import dataclass

from celery import bootsteps

from core.redis import get_redis, redis_key

WORKER_TTL_S = 15
REFRESH_S = 5.0


def _worker_key(nodename: str) -> str:
    return redis_key("stream-worker", nodename)


def register_worker(nodename: str, slots: int) -> None:
    data = {"slots": slots, "host": socket.gethostname(), "pid": os.getpid()}
    get_redis().set(_worker_key(nodename), json.dumps(data), ex=WORKER_TTL_S)


def unregister_worker(nodename: str) -> None:
    get_redis().delete(_worker_key(nodename))


@dataclass(frozen=True)
class Capacity:
    slots: int  # stream slots of the live streams workers
    busy: int  # cameras with a live runner

    @property
    def free(self) -> int:
        return max(self.slots - self.busy, 0)

    def as_dict(self) -> dict[str, int]:
        return {"slots": self.slots, "busy": self.busy, "free": self.free}


def stream_capacity() -> Capacity:
    from cameras.runtime import leases  # not at import: crowdsafe.celery imports this module early

    redis = get_redis()
    slots = 0
    keys = list(redis.scan_iter(_worker_key("*"), count=500))
    for raw in redis.mget(keys) if keys else []:
        try:
            slots += int(json.loads(raw)["slots"]) if raw else 0
        except (ValueError, KeyError, TypeError):
            continue
    busy = sum(1 for _ in redis.scan_iter(leases.lease_key("*"), count=500))  # type: ignore[arg-type]
    return Capacity(slots, busy)


def waiting_detail(capacity: Capacity | None = None) -> str:
    """Why a camera that should run has no runner yet."""
    try:
        capacity = capacity or stream_capacity()
    except Exception:  # Redis away: say what we know
        return "Waiting for a stream worker."
    if capacity.slots == 0:
        return "Waiting for a stream worker: none is running."
    if capacity.free == 0:
        if capacity.slots == 1:
            return "Waiting for a stream slot: the only stream slot is busy."
        return f"Waiting for a stream slot: all {capacity.slots} stream slots busy."
    return f"Waiting for a stream worker ({capacity.free} of {capacity.slots} stream slots free)."


# -- a dead source gives its slot back --------------------------------------------------
# A live camera whose source stays down (backoff at CROWDSAFE_SLOT_RELEASE_BACKOFF_S or more)
# ends its runner; reconcile starts it again once the backoff has passed. The backoff goes on
# doubling across these restarts (up to the reconnect maximum), so a dead source costs a slot
# only for one connection attempt per backoff.


def _parked_key(camera_id: int) -> str:
    return redis_key("camera", camera_id, "parked")


def _backoff_key(camera_id: int) -> str:
    return redis_key("camera", camera_id, "park-backoff")


def park(camera_id: int, delay_s: float) -> None:
    redis = get_redis()
    redis.set(_parked_key(camera_id), "1", px=max(int(delay_s * 1000), 1))
    redis.set(_backoff_key(camera_id), str(delay_s), ex=3600)


def is_parked(camera_id: int) -> bool:
    return get_redis().exists(_parked_key(camera_id)) == 1


def last_park_backoff(camera_id: int) -> float | None:
    """The backoff of the camera's last parking (None when its source came back since)."""
    raw = get_redis().get(_backoff_key(camera_id))
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


def unpark(camera_id: int) -> None:
    get_redis().delete(_parked_key(camera_id), _backoff_key(camera_id))


class StreamSlots(bootsteps.StartStopStep):
    """Consumer bootstep of a streams worker: keeps its slot count in Redis while it runs."""

    def __init__(self, parent, **kwargs) -> None:
        super().__init__(parent, **kwargs)
        self.tref = None

    def start(self, c) -> None:
        consume_from = c.app.amqp.queues.consume_from
        if consume_from and "streams" not in consume_from:
            return
        slots = int(getattr(c.controller, "concurrency", 0) or 0)
        self._refresh(c.hostname, slots)
        self.tref = c.timer.call_repeatedly(REFRESH_S, self._refresh, (c.hostname, slots), priority=10)

    def stop(self, c) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
            with contextlib.suppress(Exception):  # shutting down: the key expires anyway
                unregister_worker(c.hostname)

    shutdown = stop

    @staticmethod
    def _refresh(nodename: str, slots: int) -> None:
        with contextlib.suppress(Exception):  # Redis away: the next tick tries again
            register_worker(nodename, slots)
