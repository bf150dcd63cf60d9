"""Through the real ASGI app (crowdsafe.asgi): live connections re-check their user, and
oversize or anonymous upload bodies are refused before they are read (issue #12 points 5, 8)."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.test import Client

from accounts.roles import Role
from cameras import live, services
from cameras.runtime import leases
from crowdsafe.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]
RECHECK_S = 0.3


@pytest.fixture(autouse=True)
def _fast_recheck(settings):
    settings.CROWDSAFE_LIVE_AUTH_RECHECK_S = RECHECK_S


def _session_cookie(user) -> tuple[Client, bytes]:
    client = Client()
    client.force_login(user)
    return client, f"sessionid={client.cookies['sessionid'].value}".encode()


def _ws(path: str, cookie: bytes) -> ApplicationCommunicator:
    return ApplicationCommunicator(application, {
        "type": "websocket", "path": path, "query_string": b"format=json", "subprotocols": [],
        "headers": [(b"host", b"testserver"), (b"origin", b"http://testserver"), (b"cookie", cookie)],
    })


def _http(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> ApplicationCommunicator:
    return ApplicationCommunicator(application, {
        "type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers], "scheme": "http", "http_version": "1.1",
        "server": ("testserver", 80), "client": ("127.0.0.1", 50000), "asgi": {"version": "3.0"},
    })


def _deactivate(user, client):
    user.is_active = False
    user.save(update_fields=["is_active"])


def _log_out(user, client):
    client.logout()


def _new_password(user, client):
    user.set_password("An0ther-long-password")
    user.save()


def _demote(user, client):
    user.role = Role.VIEWER
    user.save(update_fields=["role"])


REVOCATIONS = {"deactivated": _deactivate, "logged-out": _log_out, "password-changed": _new_password}


@pytest.mark.parametrize("how", list(REVOCATIONS))
def test_websocket_closes_when_the_user_loses_access(viewer_user, how):
    async_to_sync(_websocket_closes)(viewer_user, REVOCATIONS[how])


async def _websocket_closes(user, revoke):
    client, cookie = await sync_to_async(_session_cookie)(user)
    socket = _ws("/ws/dashboard/", cookie)
    await socket.send_input({"type": "websocket.connect"})
    assert (await socket.receive_output(5))["type"] == "websocket.accept"
    assert await socket.receive_nothing(RECHECK_S * 3)  # still allowed: stays open
    await sync_to_async(revoke)(user, client)
    message = await socket.receive_output(RECHECK_S * 10)
    assert message == {"type": "websocket.close", "code": 4403}
    await socket.send_input({"type": "websocket.disconnect", "code": 4403})
    await socket.wait(1)


@pytest.mark.parametrize("how", ["deactivated", "logged-out"])
def test_mjpeg_stream_ends_when_the_user_loses_access(viewer_user, how):
    async_to_sync(_mjpeg_ends)(viewer_user, REVOCATIONS[how])


async def _mjpeg_ends(user, revoke):
    camera = await sync_to_async(services.create_camera)(name="Revoked viewer cam")
    lease = leases.Lease(camera.pk)
    await sync_to_async(lease.acquire)()
    await sync_to_async(live.store_frame)(camera.pk, 1, b"\xff\xd8frame")
    client, cookie = await sync_to_async(_session_cookie)(user)
    try:
        stream = _http("GET", f"/api/cameras/{camera.pk}/stream/", [(b"cookie", cookie)])
        await stream.send_input({"type": "http.request", "body": b""})
        start = await stream.receive_output(5)
        assert start["type"] == "http.response.start" and start["status"] == 200
        first = await stream.receive_output(5)
        assert b"\xff\xd8frame" in first["body"] and first["more_body"]
        assert await stream.receive_nothing(RECHECK_S * 3)  # allowed: the stream stays open
        await sync_to_async(revoke)(user, client)
        end = await stream.receive_output(RECHECK_S * 10)  # long before the 15 s idle end
        assert end["type"] == "http.response.body" and not end.get("more_body", False)
    finally:
        await sync_to_async(lease.release)()


def test_mjpeg_stream_with_a_bearer_token_ends_when_the_token_expires(viewer_user):
    async_to_sync(_bearer_stream_ends)(viewer_user)


async def _bearer_stream_ends(user):
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    camera = await sync_to_async(services.create_camera)(name="Bearer viewer cam")
    lease = leases.Lease(camera.pk)
    await sync_to_async(lease.acquire)()
    await sync_to_async(live.store_frame)(camera.pk, 1, b"\xff\xd8frame")
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=3))
    try:
        bearer = [(b"authorization", f"Bearer {token}".encode())]
        stream = _http("GET", f"/api/cameras/{camera.pk}/stream/", bearer)
        await stream.send_input({"type": "http.request", "body": b""})
        assert (await stream.receive_output(5))["status"] == 200
        assert (await stream.receive_output(5))["more_body"]
        end = await stream.receive_output(8)  # the token ran out (2-3 s), long before the idle end
        assert end["type"] == "http.response.body" and not end.get("more_body", False)
    finally:
        await sync_to_async(lease.release)()


def test_an_admin_demoted_keeps_viewer_access(admin_user):
    """Demotion to viewer keeps the live view (viewers may watch); the check uses the new role."""
    async_to_sync(_demoted_admin_keeps_access)(admin_user)


async def _demoted_admin_keeps_access(user):
    from django.contrib.auth import get_user_model

    await sync_to_async(get_user_model().objects.create_user)("second_admin", password="x" * 12, role="admin")
    client, cookie = await sync_to_async(_session_cookie)(user)
    socket = _ws("/ws/dashboard/", cookie)
    await socket.send_input({"type": "websocket.connect"})
    assert (await socket.receive_output(5))["type"] == "websocket.accept"
    await sync_to_async(_demote)(user, client)
    assert await socket.receive_nothing(RECHECK_S * 4)
    await socket.send_input({"type": "websocket.disconnect", "code": 1000})
    await socket.wait(1)


# --- bodies refused before they are read ----------------------------------------------------------


async def _answer(comm: ApplicationCommunicator) -> tuple[int, dict]:
    start = await comm.receive_output(5)
    body = await comm.receive_output(5)
    return start["status"], json.loads(body["body"])


def test_declared_oversize_body_gets_413_without_being_read():
    async def run():
        comm = _http("POST", "/api/cameras/", [(b"content-type", b"application/json"),
                                               (b"content-length", str(20 * 1024 * 1024).encode())])
        # No body is sent at all: the answer must not wait for it.
        status, body = await _answer(comm)
        assert status == 413 and "too large" in body["detail"]

    async_to_sync(run)()


def test_anonymous_large_upload_is_refused_before_its_body(camera_for_upload):
    async def run():
        comm = _http("POST", f"/api/cameras/{camera_for_upload}/upload/", [
            (b"content-type", b"multipart/form-data; boundary=x"),
            (b"content-length", str(200 * 1024 * 1024).encode()),
        ])
        status, body = await _answer(comm)
        assert status == 403 and "operator" in body["detail"]

    async_to_sync(run)()


def test_chunked_body_over_the_limit_is_cut_off():
    async def run():
        comm = _http("POST", "/api/auth/login/", [(b"content-type", b"application/json"),
                                                  (b"transfer-encoding", b"chunked")])
        for _ in range(20):  # 20 x 8 KB, no Content-Length: over the 64 KB of a sign-in
            await comm.send_input({"type": "http.request", "body": b" " * 8192, "more_body": True})
        status, body = await _answer(comm)
        assert status == 413 and "64 KB" in body["detail"]

    async_to_sync(run)()


@pytest.fixture
def camera_for_upload(db) -> int:
    return services.create_camera(name="Upload target").pk
