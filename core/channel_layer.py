"""The Channels layer over Redis, replacing its connections after a Redis outage.

channels_redis keeps one connection pool per event loop for the life of the process and
sets no socket timeouts: a connection left half-open by a Redis restart (or a receive loop
blocked on it) is reused as is, and websocket connects failed for minutes after Redis was
back. Here every connection has timeouts and a keep-alive check, and any Redis error drops
this loop's connections so the next call opens fresh ones. (Timeouts: settings.CHANNEL_LAYERS;
the socket timeout must exceed channels_redis' 5 s BRPOP.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from channels_redis.core import RedisChannelLayer
from redis.exceptions import RedisError

from core.outages import warn_throttled

log = logging.getLogger("crowdsafe.channels")

class ResilientRedisChannelLayer(RedisChannelLayer):
    async def _reset_connections(self, exc: BaseException) -> None:
        warn_throttled(log, "channel-layer", "Channel layer: Redis error (%s); reconnecting", exc)
        try:
            loop_layer = self._layers.get(asyncio.get_running_loop())
        except RuntimeError:
            return
        if loop_layer is None:
            return
        connections, loop_layer._connections = loop_layer._connections, {}
        for connection in connections.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.aclose(close_connection_pool=True), 1)

    async def _guarded(self, call):
        try:
            return await call
        except (RedisError, OSError) as exc:
            await self._reset_connections(exc)
            raise

    async def send(self, channel, message):
        return await self._guarded(super().send(channel, message))

    async def receive(self, channel):
        return await self._guarded(super().receive(channel))

    async def group_add(self, group, channel):
        return await self._guarded(super().group_add(group, channel))

    async def group_discard(self, group, channel):
        return await self._guarded(super().group_discard(group, channel))

    async def group_send(self, group, message):
        return await self._guarded(super().group_send(group, message))
