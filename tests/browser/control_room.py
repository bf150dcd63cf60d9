"""A control room for the page-wide browser checks (console, phones, contrast).

`running(camera)` makes a camera look as it does under a real runner, without a detector: its
lease is held and a fresh JPEG is kept in Redis (the MJPEG stream serves it), and the figures
of a real CrowdEngine frame are stored and pushed through `cameras.live.push_camera_update`
twice a second, the runner's own publish path (camera.<id> and dashboard groups).
`admin_pages(room)` lists every page an admin can open.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from alerts.models import Alert
from analytics.engine import CameraGeometry, CrowdEngine
from cameras.models import Camera
from cameras.runtime.camera_sinks import summary
from cameras.runtime.sinks import CameraContext, FrameOutput
from core.runtime_settings import get_runtime_settings
from tests.browser.test_live_pages import frames_in_redis

PUSH_INTERVAL_S = 0.5  # the runners' default push rate


@dataclass
class Room:
    camera: Camera
    alert: Alert
    user_id: int


def engine_frame(camera: Camera, people: int) -> tuple[dict, dict]:
    """(camera.update data, dashboard.update summary) of a real engine frame, as the runner's
    live push sink publishes them."""
    engine = CrowdEngine(None, geometry=CameraGeometry(area_m2=4))
    boxes = np.array([[10 + 30 * i, 100, 30 + 30 * i, 160] for i in range(people)], float)
    result = engine.analyse((boxes, np.arange(people), None), 1.0, (1280, 720))
    data = result.to_dict(include_persons=False)
    data.update(camera_id=camera.pk, name=camera.name, status="running")
    return data, summary(CameraContext(camera, {}, get_runtime_settings()), FrameOutput(result, bytes))


@contextmanager
def running(camera: Camera):
    from cameras import live

    stop = threading.Event()

    def publish() -> None:
        people = 0
        while not stop.is_set():
            data, summary = engine_frame(camera, 5 + people % 7)
            live.store_metrics(camera.pk, data)
            live.push_camera_update(camera.pk, data, summary)
            people += 1
            stop.wait(PUSH_INTERVAL_S)

    with frames_in_redis(camera.pk):
        thread = threading.Thread(target=publish, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(10)


def admin_pages(room: Room) -> list[str]:
    """Every page of the product an admin can open (HTML pages, admin, API docs, browsable API);
    Redoc (/api/redoc/) has its own test in test_clean_console.py."""
    cam = room.camera.pk
    return [
        "/",
        "/cameras/",
        f"/cameras/{cam}/",
        f"/cameras/{cam}/edit/",
        f"/cameras/{cam}/zones/",
        f"/cameras/{cam}/delete/",
        "/cameras/add/",
        "/analytics/",
        "/alerts/",
        f"/alerts/{room.alert.pk}/",
        f"/cameras/{cam}/events/",
        "/recordings/",
        "/logs/",
        "/settings/",
        "/users/",
        "/users/add/",
        f"/users/{room.user_id}/",
        "/api/docs/",
        "/api/cameras/",
        "/admin/",
        "/admin/cameras/camera/",
    ]


# The product's own pages (base.html): they hold the live socket and the navigation.
def product_pages(room: Room) -> list[str]:
    return [url for url in admin_pages(room) if not url.startswith(("/api/", "/admin/"))]
