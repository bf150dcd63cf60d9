"""MJPEG stream of a camera's annotated video (asynchronous: a viewer costs no thread).

Authenticated (session or `Authorization: Bearer <JWT>`), viewer role or higher. Frames
come from Redis, where the runner keeps the newest one; a frame is sent only when it is
new. `?heatmap=1` asks the runner for a heatmap rendering for this viewer only (others and
the recording are unaffected); `?overlay=light`, for the light one of small wall tiles (boxes
and the risk badge, no HUD text, a smaller JPEG), rendered only while someone watches it.
The stream ends when the viewer leaves (the server cancels
the generator), when the camera has sent nothing for `IDLE_END_S`, or when a re-check of
the viewer (every CROWDSAFE_LIVE_AUTH_RECHECK_S) finds them deactivated, demoted or logged out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.live_auth import still_allowed
from accounts.roles import Role, has_role
from cameras import live
from cameras.models import Camera
from cameras.runtime import leases

BOUNDARY = "frame"
POLL_S = 1 / 20  # how often Redis is asked for a newer frame
IDLE_END_S = 15.0
HEATMAP_REFRESH_S = 2.0
OVERLAYS = ("full", "light")
LIGHT_STILL_WAIT_S = 3.0  # a still of the light rendering waits this long for the runner to make one


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"status": status, "code": code, "detail": detail}, status=status)


def _jwt_user(request: HttpRequest):

    try:
        found = JWTAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    if not found:
        return None
    request.token_expires_at = float(found[1]["exp"])  # the stream ends with its token
    return found[0]


def _bearer(request: HttpRequest) -> bool:
    return request.headers.get("Authorization", "").startswith("Bearer ")


async def authenticate(request: HttpRequest):
    """The user of a Bearer token, else of the session; None when neither is valid."""
    if _bearer(request):
        return await sync_to_async(_jwt_user)(request)
    auser = getattr(request, "auser", None)  # set by AuthenticationMiddleware
    user = await auser() if auser is not None else None
    return user if user is not None and user.is_authenticated else None


def _part(jpeg: bytes) -> bytes:
    return (
        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
        + jpeg
        + b"\r\n"
    )


async def _frames(
    camera_id: int, heatmap: bool, viewer: tuple[int, str | None], expires_at: float | None = None,
    light: bool = False,
) -> AsyncIterator[bytes]:
    client = aioredis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
    key = live.frame_key(camera_id)
    extra = "light" if light else "heatmap"  # the rendering this viewer asked for, if any
    wish_key = live.light_wanted_key(camera_id) if light else live.heatmap_wanted_key(camera_id)
    wish_ttl = live.LIGHT_WANTED_TTL_S if light else live.HEATMAP_WANTED_TTL_S
    last_seq, last_new, last_heat = -1, time.monotonic(), 0.0
    last_auth = time.monotonic()
    try:
        while True:
            now = time.monotonic()
            if now - last_auth >= settings.CROWDSAFE_LIVE_AUTH_RECHECK_S:
                last_auth = now
                if expires_at is not None and time.time() >= expires_at:
                    return  # a Bearer token's stream lasts as long as the token
                if not await sync_to_async(still_allowed)(*viewer, Role.VIEWER):
                    return  # deactivated, demoted or logged out: the video stops
            if (heatmap or light) and now - last_heat >= HEATMAP_REFRESH_S:
                await client.set(wish_key, "1", ex=wish_ttl)
                last_heat = now
            seq, jpeg, other = await client.hmget(key, "seq", "jpeg", extra)
            if seq is not None and jpeg is not None and int(seq) != last_seq:
                last_seq, last_new = int(seq), now
                yield _part((other or jpeg) if heatmap or light else jpeg)
            elif now - last_new > IDLE_END_S:
                return  # the camera stopped: end cleanly instead of holding the viewer
            await asyncio.sleep(POLL_S)
    finally:
        await client.aclose()


async def _refusal(request: HttpRequest, camera_id: int, user) -> JsonResponse | None:
    """Why this request may not watch the camera (401, 403, 404, 409, 400), None when it may."""
    if user is None:
        return _error(401, "not_authenticated", "Log in or send a Bearer token.")
    if not has_role(user, Role.VIEWER):
        return _error(403, "permission_denied", "Watching cameras needs the viewer role.")
    if request.GET.get("overlay", "full") not in OVERLAYS:
        return _error(400, "invalid", f"overlay must be one of {', '.join(OVERLAYS)}.")
    if not await Camera.objects.filter(pk=camera_id).aexists():
        return _error(404, "not_found", "No such camera.")
    if not await sync_to_async(leases.is_running)(camera_id):
        return _error(409, "not_running", "The camera is not running; start it first.")
    return None


async def mjpeg_stream(request: HttpRequest, camera_id: int) -> HttpResponse:
    user = await authenticate(request)
    refused = await _refusal(request, camera_id, user)
    if refused is not None:
        return refused
    light = request.GET.get("overlay") == "light"
    heatmap = request.GET.get("heatmap", "").lower() in ("1", "true", "yes", "on")
    session = None if _bearer(request) else getattr(request, "session", None)
    viewer = (user.pk, getattr(session, "session_key", None))
    response = StreamingHttpResponse(
        _frames(camera_id, heatmap, viewer, getattr(request, "token_expires_at", None), light=light),
        content_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
    )
    response["Cache-Control"] = "no-cache, no-store, must-revalidate"
    response["X-Accel-Buffering"] = "no"  # proxies must pass frames through at once
    return response


async def still(request: HttpRequest, camera_id: int) -> HttpResponse:
    """The newest frame as one JPEG: `?overlay=full` (default, the annotated frame) or
    `light` (the wall tiles' rendering; asked of the runner, waited for a moment)."""
    user = await authenticate(request)
    refused = await _refusal(request, camera_id, user)
    if refused is not None:
        return refused
    if request.GET.get("overlay") == "light":
        jpeg = await _light_still(camera_id)
    else:
        jpeg = await sync_to_async(live.get_latest_jpeg)(camera_id)
    if not jpeg:
        return _error(503, "no_frame", "The camera has not sent a frame yet; try again in a moment.")
    response = HttpResponse(jpeg, content_type="image/jpeg")
    response["Cache-Control"] = "no-store"
    return response


async def _light_still(camera_id: int) -> bytes | None:
    deadline = time.monotonic() + LIGHT_STILL_WAIT_S
    while True:
        await sync_to_async(live.want_light)(camera_id)
        jpeg = await sync_to_async(live.get_light_jpeg)(camera_id)
        if jpeg or time.monotonic() >= deadline:
            return jpeg
        await asyncio.sleep(0.1)
