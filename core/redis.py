"""One Redis client per process for live state (latest frames, metrics, leases), and its keys.

Every key starts with REDIS_KEY_PREFIX (CROWDSAFE_REDIS_PREFIX, "crowdsafe" by default); a
test run uses a prefix of its own, so it never touches a running installation's keys.
"""

from __future__ import annotations

import functools

import redis
from django.conf import settings


def redis_key(*parts: object) -> str:
    """`<prefix>:part:part...`: the only way code of this project names a Redis key."""
    return ":".join([settings.REDIS_KEY_PREFIX, *map(str, parts)])


@functools.cache
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=3, health_check_interval=30
    )
