"""Django's Redis cache, failing open: while Redis is away the cache simply misses.

Sessions (`cached_db`: the database is the truth) and the login throttle go through the
cache; with the stock backend a Redis outage turned every page and login into a 500. Here a
read misses, a write is dropped, and after a failure Redis is left alone for a moment so a
hung server does not add its timeout to every request. The login throttle therefore fails
open for the length of an outage (login itself keeps working; attempts are still logged).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from core.outages import warn_throttled

log = logging.getLogger("core.cache")

PAUSE_S = 2.0  # after a failure, skip Redis this long


class FailOpenRedisCache(RedisCache):
    _down_until = 0.0

    def _try(self, name: str, fallback: Any, *args, **kwargs) -> Any:
        if time.monotonic() < self._down_until:
            return fallback
        try:
            return getattr(super(), name)(*args, **kwargs)
        except RedisError as exc:
            self._down_until = time.monotonic() + PAUSE_S
            warn_throttled(log, "cache", "Cache (Redis) unavailable, serving without it: %s", exc)
            return fallback

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        return self._try("add", False, key, value, timeout, version)

    def get(self, key, default=None, version=None) -> Any:
        return self._try("get", default, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> None:
        self._try("set", None, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        return self._try("touch", False, key, timeout, version)

    def delete(self, key, version=None) -> bool:
        return self._try("delete", False, key, version)

    def get_many(self, keys, version=None) -> dict:
        return self._try("get_many", {}, keys, version)

    def has_key(self, key, version=None) -> bool:
        return self._try("has_key", False, key, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None) -> list:
        return self._try("set_many", list(data), data, timeout, version)

    def delete_many(self, keys, version=None) -> None:
        self._try("delete_many", None, keys, version)

    def clear(self) -> None:
        self._try("clear", None)
