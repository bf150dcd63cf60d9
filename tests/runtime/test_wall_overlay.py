"""The video wall's light rendering: boxes and the risk badge only, smaller, made only while a
wall viewer wants it (real runner, detector and video; real Redis; the real still endpoint)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.test import AsyncRequestFactory

from analytics.engine import CameraGeometry, CrowdEngine
from cameras import live, services
from cameras.models import DesiredState
from cameras.runtime import leases, runner
from cameras.runtime.camera_sinks import LiveFrameSink
from cameras.runtime.pipeline import LIGHT, LIGHT_MAX_WIDTH, LazyJpeg
from cameras.runtime.sinks import FrameOutput, SinkStart
from cameras.streaming import mjpeg_stream, still
from cameras.uploads import import_video_file

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]
HUD = (slice(10, 150), slice(10, 290))  # the HUD panel's place at the top left (768 px wide)


def _decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a JPEG"
    return image


def _first_frame(video) -> np.ndarray:
    cap = cv2.VideoCapture(str(video))
    ok, frame = cap.read()
    cap.release()
    assert ok
    return frame


def test_the_runner_makes_the_light_rendering_only_while_a_wall_viewer_wants_it(
    clip4, test_model, media_root, settings, monkeypatch
):
    settings.CROWDSAFE_LIVE_FRAME_HZ = 5
    stored: list[tuple[bytes, bytes | None]] = []
    real_store = live.store_frame

    def store(camera_id, seq, jpeg, heatmap_jpeg=None, light_jpeg=None, **more):
        stored.append((jpeg, light_jpeg))
        if len(stored) == 2:
            live.want_light(camera_id)  # a wall tile starts watching after the first frames
        real_store(camera_id, seq, jpeg, heatmap_jpeg, light_jpeg=light_jpeg, **more)

    monkeypatch.setattr(live, "store_frame", store)
    camera = services.create_camera(name="Wall", area_m2=50, target_fps=10)
    import_video_file(camera, clip4)
    camera.refresh_from_db()
    camera.desired_state = DesiredState.RUNNING
    camera.save()
    assert runner.run(camera.pk) == runner.FINISHED

    assert stored[0][1] is None  # nobody wanted it: not rendered
    lights = [(full, light) for full, light in stored if light is not None]
    assert lights, "the wish never reached the runner"
    raw = _first_frame(clip4)
    for full, light in lights:
        assert len(light) < 0.7 * len(full)
        small, big = _decode(light), _decode(full)
        assert small.shape[1] == LIGHT_MAX_WIDTH < big.shape[1] == raw.shape[1]
        # The HUD panel darkens the full frame's top left; the light one shows the scene there.
        back = cv2.resize(small, (raw.shape[1], raw.shape[0]), interpolation=cv2.INTER_LINEAR)
        hud_dark = float(np.abs(big[HUD].astype(int) - raw[HUD]).mean())
        light_diff = float(np.abs(back[HUD].astype(int) - raw[HUD]).mean())
        assert hud_dark > 40 and light_diff < 12, (hud_dark, light_diff)
        # The risk badge stays, top right.
        scene = cv2.resize(raw, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
        badge = (slice(12, 36), slice(small.shape[1] - 90, small.shape[1] - 12))
        assert float(np.abs(small[badge].astype(int) - scene[badge]).mean()) > 30


def _light_and_full(vtest_frame: np.ndarray) -> tuple[LazyJpeg, LazyJpeg]:
    """The pipeline's two encodings of a real frame with eight people (boxes given, no detector)."""
    engine = CrowdEngine(None, geometry=CameraGeometry(area_m2=40))
    boxes = np.array([[60 + 80 * i, 250, 110 + 80 * i, 400] for i in range(8)], float)
    h, w = vtest_frame.shape[:2]
    result = engine.analyse((boxes, np.arange(8), None), 1.0, (w, h))
    full = LazyJpeg(lambda: engine.render(vtest_frame, result), 80, 1280)
    light = LazyJpeg(lambda: engine.render(vtest_frame, result, LIGHT), 70, LIGHT_MAX_WIDTH)
    return full, light


def test_the_light_still_is_a_smaller_jpeg_and_the_endpoint_checks_roles(vtest_avi, viewer_user):
    full, light = _light_and_full(_first_frame(vtest_avi))
    async_to_sync(_still_endpoint)(viewer_user, full, light)


async def _still_endpoint(viewer_user, full: LazyJpeg, light: LazyJpeg) -> None:
    camera = await sync_to_async(services.create_camera)(name="Still", area_m2=40)
    factory = AsyncRequestFactory()
    url = f"/api/cameras/{camera.pk}/still/"

    async def get(query: str, user) -> object:
        request = factory.get(url + query)

        async def auser():
            return user

        request.auser = auser
        return await still(request, camera_id=camera.pk)

    assert (await get("?overlay=light", AnonymousUser())).status_code == 401
    viewer_user.is_active = False  # a deactivated viewer's session no longer watches
    assert (await get("?overlay=light", viewer_user)).status_code == 403
    viewer_user.is_active = True
    bad = await get("?overlay=tiny", viewer_user)
    assert bad.status_code == 400 and b"overlay must be one of full, light" in bad.content
    assert (await get("?overlay=light", viewer_user)).status_code == 409  # not running

    lease = leases.Lease(camera.pk)
    await sync_to_async(lease.acquire)()
    sink = LiveFrameSink(SinkStart(camera.pk, datetime.now(UTC)))
    frame = FrameOutput(None, full, light_jpeg=light)  # LiveFrameSink reads only the encodings
    stop = threading.Event()

    def runner_like() -> None:  # the runner's live frame sink, 10 frames a second
        while not stop.is_set():
            sink.on_frame(None, frame)
            stop.wait(0.1)

    thread = threading.Thread(target=runner_like, daemon=True)
    thread.start()
    try:
        await asyncio.sleep(0.3)
        assert await sync_to_async(live.get_light_jpeg)(camera.pk) is None  # nobody asked yet
        got_full = await get("", viewer_user)
        got_light = await get("?overlay=light", viewer_user)  # asks the runner, waits for it
    finally:
        stop.set()
        thread.join(5)
        await sync_to_async(lease.release)()
    assert got_full.status_code == got_light.status_code == 200
    assert got_light["Content-Type"] == "image/jpeg" and got_light["Cache-Control"] == "no-store"
    assert got_full.content == full() and got_light.content == light()
    assert len(got_light.content) < 0.7 * len(got_full.content)
    assert _decode(got_light.content).shape[1] == LIGHT_MAX_WIDTH


def test_a_wall_tile_stream_asks_for_the_light_rendering_and_gets_it(viewer_user):
    async_to_sync(_light_stream)(viewer_user)


async def _light_stream(viewer_user) -> None:
    camera = await sync_to_async(services.create_camera)(name="Tile", area_m2=40)
    lease = leases.Lease(camera.pk)
    await sync_to_async(lease.acquire)()
    request = AsyncRequestFactory().get(f"/api/cameras/{camera.pk}/stream/?overlay=light")

    async def auser():
        return viewer_user

    request.auser = auser
    try:
        await sync_to_async(live.store_frame)(camera.pk, 1, b"\xff\xd8full")  # nobody asked yet
        response = await mjpeg_stream(request, camera_id=camera.pk)
        assert response.status_code == 200
        stream = response.streaming_content
        first = await asyncio.wait_for(stream.__anext__(), 5)
        assert b"\xff\xd8full" in first  # no light frame yet: the full one, never nothing
        assert await sync_to_async(live.light_wanted)(camera.pk)  # asked of the runner
        assert not await sync_to_async(live.heatmap_wanted)(camera.pk)
        await sync_to_async(live.store_frame)(camera.pk, 2, b"\xff\xd8full2", light_jpeg=b"\xff\xd8light2")
        second = await asyncio.wait_for(stream.__anext__(), 5)
        assert b"\xff\xd8light2" in second and b"full2" not in second
        await stream.aclose()
    finally:
        await sync_to_async(lease.release)()
