"""Live delivery: websocket consumers (real channel layer) and the MJPEG view (real Redis)."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from django.contrib.auth.models import AnonymousUser
from django.test import AsyncRequestFactory
from rest_framework_simplejwt.tokens import RefreshToken

from cameras import live, services
from cameras.routing import websocket_urlpatterns
from cameras.runtime import leases
from cameras.streaming import mjpeg_stream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]
app = URLRouter(websocket_urlpatterns)


class Socket(ApplicationCommunicator):
    """A websocket client for an ASGI app (channels.testing needs daphne, not installed)."""

    def __init__(self, path: str, user) -> None:
        path, _, query = path.partition("?")
        super().__init__(app, {"type": "websocket", "path": path, "query_string": query.encode(),
                               "headers": [], "subprotocols": [], "user": user})

    async def connect(self) -> bool:
        await self.send_input({"type": "websocket.connect"})
        return (await self.receive_output(5))["type"] == "websocket.accept"

    async def receive_from(self, timeout: float = 5) -> str:
        message = await self.receive_output(timeout)
        assert message["type"] == "websocket.send", message
        return message["text"]

    async def disconnect(self) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(1)


async def _connect(path: str, user) -> tuple[Socket, bool]:
    communicator = Socket(path, user)
    return communicator, await communicator.connect()


def test_websockets_refuse_anonymous_and_unknown_cameras(viewer_user):
    async_to_sync(_websockets_refuse_anonymous_and_unknown_cameras)(viewer_user)


async def _websockets_refuse_anonymous_and_unknown_cameras(viewer_user):
    camera = await sync_to_async(services.create_camera)(name="WS cam")
    _, ok = await _connect(f"/ws/cameras/{camera.pk}/", AnonymousUser())
    assert not ok
    _, ok = await _connect("/ws/dashboard/", AnonymousUser())
    assert not ok
    _, ok = await _connect("/ws/cameras/99999/", viewer_user)
    assert not ok


def test_camera_socket_sends_json_events_of_its_group(viewer_user):
    async_to_sync(_camera_socket_sends_json_events_of_its_group)(viewer_user)


async def _camera_socket_sends_json_events_of_its_group(viewer_user):
    camera = await sync_to_async(services.create_camera)(name="WS json")
    comm, ok = await _connect(f"/ws/cameras/{camera.pk}/?format=json", viewer_user)
    assert ok
    layer = get_channel_layer()
    data = {"camera_id": camera.pk, "count": 7}
    await layer.group_send(f"camera.{camera.pk}", {"type": "camera.update", "data": data})
    await layer.group_send("camera.999", {"type": "camera.update", "data": {"camera_id": 999}})
    message = json.loads(await comm.receive_from(timeout=5))
    assert message == {"event": "camera.update", "data": {"camera_id": camera.pk, "count": 7}}
    assert await comm.receive_nothing(timeout=0.5)  # nothing of another camera
    await comm.disconnect()


def test_dashboard_socket_gets_summaries_and_html_when_templates_exist(viewer_user):
    async_to_sync(_dashboard_socket_gets_summaries_and_html_when_templates_exist)(viewer_user)


async def _dashboard_socket_gets_summaries_and_html_when_templates_exist(viewer_user):
    comm, ok = await _connect("/ws/dashboard/?format=json", viewer_user)
    assert ok
    await sync_to_async(live.push_status)(5, "reconnecting", "retry in 2 s")
    message = json.loads(await comm.receive_from(timeout=5))
    assert message["event"] == "camera.status" and message["data"]["status"] == "reconnecting"
    await comm.disconnect()
    html, ok = await _connect("/ws/dashboard/", viewer_user)  # HTMX: HTML, or nothing without a template
    assert ok
    await get_channel_layer().group_send("dashboard", {"type": "no.such.template", "data": {}})
    await html.disconnect()


def test_mjpeg_stream_checks_auth_and_sends_new_frames(viewer_user):
    async_to_sync(_mjpeg_stream_checks_auth_and_sends_new_frames)(viewer_user)


async def _mjpeg_stream_checks_auth_and_sends_new_frames(viewer_user):
    camera = await sync_to_async(services.create_camera)(name="MJPEG cam")
    factory = AsyncRequestFactory()

    anonymous = factory.get(f"/api/cameras/{camera.pk}/stream/")
    anonymous.auser = _auser(AnonymousUser())
    assert (await mjpeg_stream(anonymous, camera_id=camera.pk)).status_code == 401

    token = await sync_to_async(lambda: str(RefreshToken.for_user(viewer_user).access_token))()
    url = f"/api/cameras/{camera.pk}/stream/?heatmap=1"
    request = factory.get(url, headers={"Authorization": f"Bearer {token}"})
    assert (await mjpeg_stream(request, camera_id=camera.pk)).status_code == 409  # not running

    lease = leases.Lease(camera.pk)
    await sync_to_async(lease.acquire)()
    await sync_to_async(live.store_frame)(camera.pk, 1, b"\xff\xd8plain", b"\xff\xd8heat")
    response = await mjpeg_stream(request, camera_id=camera.pk)
    assert response.status_code == 200 and response["Content-Type"].startswith("multipart/x-mixed-replace")
    stream = response.streaming_content
    first = await asyncio.wait_for(stream.__anext__(), 5)
    assert first.startswith(b"--frame\r\n") and b"\xff\xd8heat" in first  # this viewer's heatmap
    assert await sync_to_async(live.heatmap_wanted)(camera.pk)  # asked of the runner
    await sync_to_async(live.store_frame)(camera.pk, 2, b"\xff\xd8second")
    second = await asyncio.wait_for(stream.__anext__(), 5)
    assert b"\xff\xd8second" in second  # no heatmap frame yet: the plain one
    await stream.aclose()  # the viewer leaves: the generator ends cleanly
    await sync_to_async(lease.release)()


def _auser(user):
    async def auser():
        return user

    return auser
