"""Exactly one runner per camera: a lease in Redis (SET NX PX) renewed by the runner's heartbeat,
and a fencing token in the database that every metrics flush checks.

The value is a random token plus where the runner lives (host, pid, process start time), so
renew and release only ever touch the runner's own lease, tests and admins can see who holds
it, and a runner whose process died can be told apart from a live one on the same host
(`break_if_dead`, used by the worker's signals to take over in seconds instead of waiting for
the lease to expire). A runner whose renewal fails has lost the lease and must stop.

Fencing (API for the runner and other code; issue #11):
- `Lease.acquire()` takes the Redis lease, then a new fencing token: `Camera.lease_token` + 1
  in the database (monotonic per camera, survives a Redis restart). `Lease.fence` holds it.
- `fence_holds(camera_id, token)`, called inside `transaction.atomic()`, locks the camera row
  and says whether `token` is still the current one; `Lease.fence_check` is that for this
  lease (the MetricsWriter's `fence`). Writes of a runner whose token is stale are refused.
- A runner that lost only the Redis key (e.g. Redis restarted) may `Lease.reacquire()`: it
  sets the same value again (NX) and keeps its token, so it still writes only while no other
  runner has taken the camera (a taker bumps the token in the database).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid

import psutil
from django.db import connection, transaction
from django.db.models import F

from cameras.models import Camera
from cameras.runtime import conf
from core.redis import get_redis, redis_key

log = logging.getLogger(__name__)

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
    return redis_key("camera", camera_id, "lease")


def pending_key(camera_id: int) -> str:
    return redis_key("camera", camera_id, "pending")


def _process_started() -> float:
    try:
        return round(psutil.Process().create_time(), 2)
    except psutil.Error:
        return 0.0


# The leases this process holds, so a pool process that exits can hand them back at once.
_held: dict[int, Lease] = {}


class Lease:
    """The lease of one camera, held (or not) by this runner."""

    def __init__(self, camera_id: int, ttl_s: float | None = None) -> None:
        self.camera_id = camera_id
        # The heartbeat renews it every few seconds; a dead runner's camera is free again
        # after at most this long, and the reconcile task restarts it.
        self.ttl_ms = int((ttl_s or conf.lease_ttl_s()) * 1000)
        self.token = json.dumps(
            {
                "token": uuid.uuid4().hex,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "started": _process_started(),
            }
        )
        self.held = False
        self.fence = 0  # fencing token, set by acquire()

    def acquire(self) -> bool:
        """Take the lease and a new fencing token (which fences out any previous holder)."""
        if not get_redis().set(lease_key(self.camera_id), self.token, nx=True, px=self.ttl_ms):
            return False
        try:
            self.fence = take_fence(self.camera_id)
        except Exception:
            get_redis().eval(_RELEASE, 1, lease_key(self.camera_id), self.token)
            raise
        self.held = True
        _held[self.camera_id] = self
        return True

    def reacquire(self) -> bool:
        """Set this lease again after its key vanished (Redis restarted); keeps the token."""
        self.held = bool(get_redis().set(lease_key(self.camera_id), self.token, nx=True, px=self.ttl_ms))
        return self.held

    def renew(self) -> bool:
        """Extend the lease; False means it is lost (never re-taken silently)."""
        if not self.held:
            return False
        self.held = bool(get_redis().eval(_RENEW, 1, lease_key(self.camera_id), self.token, self.ttl_ms))
        return self.held

    def release(self) -> None:
        _held.pop(self.camera_id, None)
        if self.held:
            get_redis().eval(_RELEASE, 1, lease_key(self.camera_id), self.token)
            self.held = False

    def fence_check(self) -> bool:
        """Inside a transaction: is this runner still the camera's writer? (locks the row)"""
        return fence_holds(self.camera_id, self.fence)


# A runner frozen in the middle of a flush keeps the camera row locked: a taker waits this
# long at most (and fails, to be retried by reconcile) instead of hanging with the lease.
FENCE_LOCK_TIMEOUT_MS = 5000


def take_fence(camera_id: int) -> int:
    """A new fencing token for the camera (the previous holder's writes are refused from now)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = {FENCE_LOCK_TIMEOUT_MS}")
        Camera.objects.filter(pk=camera_id).update(lease_token=F("lease_token") + 1)
        return Camera.objects.filter(pk=camera_id).values_list("lease_token", flat=True).first() or 0


def fence_holds(camera_id: int, token: int) -> bool:
    """Call inside `transaction.atomic()`: True while `token` is the camera's current token.
    The row stays locked until the transaction ends, so a taker waits for this write."""
    return Camera.objects.select_for_update().filter(pk=camera_id, lease_token=token).exists()


def held_leases() -> list[Lease]:
    return list(_held.values())


def holder_alive(holder: dict) -> bool | None:
    """Is the holder's process alive? None when it runs on another host (cannot tell here)."""
    if holder.get("host") != socket.gethostname():
        return None
    try:
        process = psutil.Process(int(holder.get("pid") or 0))
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        started = float(holder.get("started") or 0)
        # The same pid in a new process (a restarted container) is not the holder.
        return not started or abs(process.create_time() - started) < 1.0
    except (psutil.NoSuchProcess, ValueError):
        return False
    except psutil.Error:
        return True  # e.g. access denied: it exists


def break_if_dead(camera_id: int) -> bool:
    """Delete the camera's lease when its holder's process is known to be dead (this host)."""
    redis = get_redis()
    raw = redis.get(lease_key(camera_id))
    if raw is None:
        return False
    try:
        holder = json.loads(raw)
    except ValueError:
        return False
    if holder_alive(holder) is not False:
        return False
    if redis.eval(_RELEASE, 1, lease_key(camera_id), raw):
        log.warning("Camera %s: lease of dead process %s broken", camera_id, holder.get("pid"))
        return True
    return False


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
