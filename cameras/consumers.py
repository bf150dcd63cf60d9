"""Websocket consumers for live camera figures and the dashboard.

Authenticated (the session, through Channels' AuthMiddlewareStack) and role-checked
(viewer or higher); anyone else is refused at the handshake, and the user is checked
again every CROWDSAFE_LIVE_AUTH_RECHECK_S (deactivated, demoted or logged out: closed, 4403).
A client that asks for `?format=json` gets `{"event": ..., "data": ...}`; otherwise (the HTMX
ws extension) it gets the HTML of `live/<event>.html` to swap in; an event without a template
is skipped.

A page says which kinds of fragment it shows with `?show=<kind>,<kind>` (KINDS; by default all),
so it is sent nothing it has no place for: the dashboard's tiles and totals go to the
dashboard only, a camera's status to the pages listing cameras, alerts to every page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from redis.exceptions import RedisError

from accounts.live_auth import still_allowed
from accounts.roles import Role, has_role
from cameras import live
from cameras.models import Camera
from core.outages import warn_throttled
from core.push import DASHBOARD_GROUP, camera_group

logger = logging.getLogger(__name__)
DENIED = 4403
NOT_FOUND = 4404
UNAVAILABLE = 4503


# The kind of fragment each event carries; `totals` (the dashboard's open-alert card) rides on
# the alert events and is rendered only for a page that shows it.
EVENT_KINDS = {
    "camera.update": "camera",
    "camera.status": "status",
    "dashboard.update": "tiles",
    "alert.new": "alerts",
    "alert.changed": "alerts",
}
KINDS = frozenset({*EVENT_KINDS.values(), "totals"})


def parse_show(values: list[str]) -> frozenset[str]:
    """The kinds a client asked for (`?show=a,b` or `?show=a&show=b`); all when it named none."""
    asked = {kind for value in values for kind in value.replace(" ", ",").split(",") if kind}
    return frozenset(asked & KINDS) if asked else KINDS


def _render(event: str, data: dict, user, show: frozenset[str] = KINDS) -> str | None:
    try:
        template = f"live/{event.replace('.', '_')}.html"
        return render_to_string(template, {"data": data, "event": event, "user": user, "show": show})
    except TemplateDoesNotExist:
        return None


class _LiveConsumer(AsyncWebsocketConsumer):
    groups_to_join: list[str]

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except RedisError as exc:  # Redis went away under the socket: close it, the page reconnects
            warn_throttled(logger, "ws-redis", "Websocket closed: Redis unavailable (%s)", exc)
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": UNAVAILABLE})

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not has_role(user, Role.VIEWER):
            await self.close(code=DENIED)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.as_json = query.get("format", [""])[0] == "json"
        self.show = parse_show(query.get("show", []))
        if not await self.setup():
            await self.close(code=NOT_FOUND)
            return
        try:
            for group in self.groups_to_join:
                await self.channel_layer.group_add(group, self.channel_name)
        except RedisError:  # Redis away: refuse this handshake (403), the page's client retries
            await self.close(code=UNAVAILABLE)
            return
        await self.accept()
        session = self.scope.get("session")
        self._watch = asyncio.create_task(self._watch_user(user.pk, getattr(session, "session_key", None)))
        await self.send_initial()

    async def _watch_user(self, user_id: int, session_key: str | None) -> None:
        """Close for a user deactivated, demoted or logged out since the handshake."""
        check = database_sync_to_async(still_allowed)
        while True:
            await asyncio.sleep(settings.CROWDSAFE_LIVE_AUTH_RECHECK_S)
            try:
                allowed = await check(user_id, session_key, Role.VIEWER)
            except Exception:  # noqa: BLE001 - a database or cache blip: ask again next time
                logger.warning("Websocket user re-check failed", exc_info=True)
                continue
            if not allowed:
                self.revoked = True
                await self.close(code=DENIED)
                return

    async def disconnect(self, code: int) -> None:
        watch = getattr(self, "_watch", None)
        if watch is not None:
            watch.cancel()
        for group in getattr(self, "groups_to_join", []):
            with contextlib.suppress(RedisError):  # the group entry expires by itself
                await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """Clients only listen; anything they send is ignored."""

    async def setup(self) -> bool:
        raise NotImplementedError

    async def send_initial(self) -> None:
        """Nothing by default."""

    async def send_event(self, event: str, data: dict) -> None:
        user = self.scope.get("user")
        if getattr(self, "revoked", False) or not has_role(user, Role.VIEWER):
            await self.close(code=DENIED)
            return
        if event in EVENT_KINDS and EVENT_KINDS[event] not in self.show:
            return  # the page has no place for it
        if self.as_json:
            await self.send(text_data=json.dumps({"event": event, "data": data}))
            return
        html = await database_sync_to_async(_render)(event, data, user, self.show)
        if html is not None:
            await self.send(text_data=html)

    # Channel-layer events ({"type": "camera.update", "data": {...}} calls camera_update).
    async def camera_update(self, message: dict) -> None:
        await self.send_event("camera.update", message["data"])

    async def camera_status(self, message: dict) -> None:
        await self.send_event("camera.status", message["data"])

    async def dashboard_update(self, message: dict) -> None:
        await self.send_event("dashboard.update", message["data"])

    async def alert_new(self, message: dict) -> None:
        await self.send_event("alert.new", message["data"])

    async def alert_changed(self, message: dict) -> None:
        await self.send_event("alert.changed", message["data"])


class CameraConsumer(_LiveConsumer):
    """ws/cameras/<id>/: the full figures of one camera, its status and its alerts."""

    async def setup(self) -> bool:
        self.camera_id = int(self.scope["url_route"]["kwargs"]["camera_id"])
        self.groups_to_join = [camera_group(self.camera_id)]
        return await Camera.objects.filter(pk=self.camera_id).aexists()

    async def send_initial(self) -> None:
        data = await database_sync_to_async(live.get_live_metrics)(self.camera_id)
        if data is not None:
            await self.send_event("camera.update", data)


class DashboardConsumer(_LiveConsumer):
    """ws/dashboard/: a summary per camera, status changes and alerts."""

    async def setup(self) -> bool:
        self.groups_to_join = [DASHBOARD_GROUP]
        return True
