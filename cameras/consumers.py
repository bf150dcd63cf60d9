"""Websocket consumers for live camera figures and the dashboard.

Authenticated (the session, through Channels' AuthMiddlewareStack) and role-checked
(viewer or higher); anyone else is refused at the handshake. A client that asks for
`?format=json` gets `{"event": ..., "data": ...}`; otherwise (the HTMX ws extension) it
gets the HTML of `live/<event>.html` to swap in; an event without a template is skipped.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string

from accounts.roles import Role, has_role
from cameras import live
from cameras.models import Camera
from cameras.push import DASHBOARD_GROUP, camera_group

DENIED = 4403
NOT_FOUND = 4404


def _render(event: str, data: dict, user) -> str | None:
    try:
        template = f"live/{event.replace('.', '_')}.html"
        return render_to_string(template, {"data": data, "event": event, "user": user})
    except TemplateDoesNotExist:
        return None


class _LiveConsumer(AsyncWebsocketConsumer):
    groups_to_join: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not has_role(user, Role.VIEWER):
            await self.close(code=DENIED)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.as_json = query.get("format", [""])[0] == "json"
        if not await self.setup():
            await self.close(code=NOT_FOUND)
            return
        for group in self.groups_to_join:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_initial()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_to_join", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """Clients only listen; anything they send is ignored."""

    async def setup(self) -> bool:
        raise NotImplementedError

    async def send_initial(self) -> None:
        """Nothing by default."""

    async def send_event(self, event: str, data: dict) -> None:
        user = self.scope.get("user")
        if not has_role(user, Role.VIEWER):  # deactivated or demoted meanwhile
            await self.close(code=DENIED)
            return
        if self.as_json:
            await self.send(text_data=json.dumps({"event": event, "data": data}))
            return
        html = await database_sync_to_async(_render)(event, data, user)
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
