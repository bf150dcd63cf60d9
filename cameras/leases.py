"""Exactly one runner per camera: a lease in Redis (SET NX PX) renewed by the runner's heartbeat.

The value is a random token plus where the runner lives (host, pid), so renew and release
only ever touch the runner's own lease, and tests and admins can see who holds it. A runner
whose renewal fails has lost the lease (expired, or taken by another) and must stop.
"""

from __future__ import annotations

import json
import os
import socket
import uuid

from cameras import conf
from crowdsafe.redis import get_redis

# A start is "pending" from enqueueing until the runner takes the lease (stops duplicate starts).
PENDING_TTL_S: float = 60.0

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def lease_key(camera_id: int) -> str:
    return f"crowdsafe:camera:{camera_id}:lease"


def pending_key(camera_id: int) -> str:
    return f"crowdsafe:camera:{camera_id}:pending"


class Lease:
    """The lease of one camera, held (or not) by this runner."""

    def __init__(self, camera_id: int, ttl_s: float | None = None) -> None:
        self.camera_id = camera_id
        # The heartbeat renews it every few seconds; a dead runner's camera is free again
        # after at most this long, and the reconcile task restarts it.
        self.ttl_ms = int((ttl_s or conf.lease_ttl_s()) * 1000)
        self.token = json.dumps(
            {"token": uuid.uuid4().hex, "host": socket.gethostname(), "pid": os.getpid()}
        )
        self.held = False

    def acquire(self) -> bool:
        self.held = bool(get_redis().set(lease_key(self.camera_id), self.token, nx=True, px=self.ttl_ms))
        return self.held

    def renew(self) -> bool:
        """Extend the lease; False means it is lost (never re-taken silently)."""
        if not self.held:
            return False
        self.held = bool(get_redis().eval(_RENEW, 1, lease_key(self.camera_id), self.token, self.ttl_ms))
        return self.held

    def release(self) -> None:
        if self.held:
            get_redis().eval(_RELEASE, 1, lease_key(self.camera_id), self.token)
            self.held = False


def lease_holder(camera_id: int) -> dict | None:
    """Who holds the camera's lease ({"token", "host", "pid"}), or None when nobody does."""
    raw = get_redis().get(lease_key(camera_id))
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return {"token": raw.decode(errors="replace"), "host": "?", "pid": 0}


def is_running(camera_id: int) -> bool:
    return get_redis().exists(lease_key(camera_id)) == 1


def mark_pending(camera_id: int) -> bool:
    """Record that a runner was enqueued; False when one is already pending."""
    return bool(get_redis().set(pending_key(camera_id), "1", nx=True, px=int(PENDING_TTL_S * 1000)))


def is_pending(camera_id: int) -> bool:
    return get_redis().exists(pending_key(camera_id)) == 1


def clear_pending(camera_id: int) -> None:
    get_redis().delete(pending_key(camera_id))
