"""The operator dashboard in a real browser, with live events pushed through the channel layer.

These drive the real ASGI app (uvicorn), the runtime's consumers, the fragments in
templates/live/ and htmx's ws extension; the full pipeline with a Celery worker is in
test_worker_scenario.py.
"""

from __future__ import annotations

import re
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alerts.models import Alert, AlertLevel, AlertTrigger
from analytics.models import Metric
from cameras.models import Camera, CameraStatus, DesiredState, SourceType
from tests.browser.conftest import in_thread, push

PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def running_camera(transactional_db) -> Camera:
    return Camera.objects.create(
        name="East Concourse",
        source_type=SourceType.RTSP,
        source="rtsp://10.0.0.9/live",
        status=CameraStatus.RUNNING,
        desired_state=DesiredState.RUNNING,
    )


def _summary(camera: Camera, count: int, level: str = "CAUTION") -> dict:
    return {
        "camera_id": camera.pk,
        "name": camera.name,
        "count": count,
        "density": count / 50,
        "risk_level": level,
        "risk_score": 0.3,
        "status": "running",
    }


def _wait_ws(page) -> None:
    expect(page.locator("#ws-label")).to_have_text("live")


def test_login_form_and_dashboard_count_updates_live(page, users, running_camera):
    page.goto("/")
    expect(page).to_have_url("/login/?next=/")
    page.get_by_label("Username").fill("oscar_operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Dashboard")
    _wait_ws(page)
    count = page.locator(f"#dash-cam-{running_camera.pk}-count")
    expect(count).to_have_text("—")
    push("dashboard", "dashboard.update", _summary(running_camera, 17))
    expect(count).to_have_text("17")
    expect(page.locator("#total-people")).to_have_text("17")
    expect(page.locator("#total-risk")).to_have_text("CAUTION")
    push("dashboard", "dashboard.update", _summary(running_camera, 42, "WARNING"))
    expect(count).to_have_text("42")
    expect(page.locator("#total-risk")).to_have_text("WARNING")


@contextmanager
def frames_in_redis(camera_id: int):
    """Hold the camera's lease and keep a fresh JPEG in Redis, as a runner does (and answer
    the zone editor's wish for an unannotated still with the same picture)."""
    from cameras.live import clear_live_state, store_frame, store_raw_still, take_raw_wish
    from cameras.runtime.leases import Lease

    frame = np.full((360, 640, 3), 40, np.uint8)
    cv2.putText(frame, "CrowdSafe", (150, 200), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
    jpeg = cv2.imencode(".jpg", frame)[1].tobytes()
    lease, stop = Lease(camera_id, ttl_s=60), threading.Event()
    assert lease.acquire()

    def produce() -> None:
        seq = 0
        while not stop.is_set():
            store_frame(camera_id, seq, jpeg)
            if take_raw_wish(camera_id):
                store_raw_still(camera_id, jpeg)
            seq += 1
            stop.wait(0.2)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
        lease.release()
        clear_live_state(camera_id)


def test_camera_view_shows_frames_and_live_panel(page, login, users, running_camera):
    with frames_in_redis(running_camera.pk):
        login(users["viewer"]).goto(f"/cameras/{running_camera.pk}/")
        _wait_ws(page)
        img = page.locator(f"#stream-{running_camera.pk}")
        page.wait_for_function(
            "id => document.getElementById(id).naturalWidth === 640", arg=f"stream-{running_camera.pk}"
        )
        assert img.evaluate("el => el.naturalHeight") == 360
        data = {
            **_summary(running_camera, 23),
            "tracked_count": 20,
            "level_of_service": "C",
            "density_level": "SAFE",
            "avg_speed": 0.9,
            "max_speed": 2.0,
            "surge": 0.1,
            "zones": [
                {
                    "id": 1,
                    "name": "Pit",
                    "count": 9,
                    "density": 3.2,
                    "level_of_service": "D",
                    "risk_level": "WARNING",
                    "capacity_utilization": 45.0,
                }
            ],
            "lines": [],
        }
        push(f"camera.{running_camera.pk}", "camera.update", data)
        expect(page.locator(f"#cam-{running_camera.pk}-count")).to_have_text("23")
        expect(page.get_by_text("LOS C")).to_be_visible()
        expect(page.get_by_role("cell", name="Pit")).to_be_visible()
        push(f"camera.{running_camera.pk}", "camera.update", {**data, "count": 24})
        expect(page.locator(f"#cam-{running_camera.pk}-count")).to_have_text("24")
        canvas = page.locator(f"#live-chart-{running_camera.pk}")
        expect(canvas).to_have_attribute("data-points", "2")
        # The heatmap is a per-viewer stream option.
        page.get_by_role("button", name="Heatmap").click()
        assert "heatmap=1" in img.get_attribute("src")
        push(
            f"camera.{running_camera.pk}",
            "camera.status",
            {"camera_id": running_camera.pk, "status": "reconnecting", "detail": "stream lost"},
        )
        expect(page.locator(f"#camera-status-{running_camera.pk}")).to_have_text("Reconnecting")
        # A viewer gets no start/stop buttons.
        assert page.get_by_role("button", name="Stop").count() == 0


def test_alert_toast_and_badge_after_acknowledge(page, login, users, running_camera):
    from alerts.live import push_alert

    login(users["operator"]).goto("/alerts/")
    _wait_ws(page)
    badge = page.locator("#alert-badge")
    expect(badge).to_have_text("0")
    alert = Alert.objects.create(
        camera=running_camera,
        level=AlertLevel.CRITICAL,
        trigger=AlertTrigger.DENSITY,
        message="Density 6.3 p/m² over 6.0",
    )
    in_thread(push_alert, alert, "alert.new")
    toast = page.locator(f'#toasts .toast[data-alert-id="{alert.pk}"]')
    expect(toast).to_be_visible()
    expect(toast).to_contain_text("Density 6.3")
    expect(badge).to_have_text("1")
    row = page.locator(f"#alert-{alert.pk}")
    expect(row).to_be_visible()  # the table refreshed itself
    row.get_by_label("Note").fill("stewards on the way")
    row.get_by_role("button", name="Acknowledge").click()
    expect(badge).to_have_text("0")
    expect(page.locator(f"#alert-{alert.pk}")).to_contain_text("stewards on the way")
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by_id == users["operator"].pk


def _seed_metrics(camera: Camera, hours: int = 3) -> None:
    now = timezone.now().replace(microsecond=0)
    Metric.objects.bulk_create(
        Metric(
            camera=camera,
            timestamp=now - timedelta(minutes=m),
            count=m % 50,
            count_max=m % 50,
            density=(m % 50) / 25,
            avg_speed=0.7,
            risk_score=0.2,
        )
        for m in range(hours * 60)
    )


def test_analytics_preset_redraws_and_exports_download(page, login, users, running_camera):
    _seed_metrics(running_camera)
    login(users["operator"]).goto("/analytics/")  # exports are for operators
    canvas = page.locator("#chart-count")
    expect(canvas).to_have_attribute("data-drawn-at", re.compile(r"\d+"))
    # 24 h by default, averaged into 5-minute points: 3 h of data give 36 or 37 of them.
    assert int(canvas.get_attribute("data-points")) in (36, 37)
    first_draw = canvas.get_attribute("data-drawn-at")
    page.get_by_role("button", name="1H", exact=True).click()
    expect(canvas).to_have_attribute("data-points", "60")
    assert canvas.get_attribute("data-drawn-at") != first_draw
    expect(page.locator("#sum-records")).to_have_text("60")
    assert "preset=1h" in page.url
    magic = {"csv": b"\xef\xbb\xbfTimestamp", "docx": b"PK", "pdf": b"%PDF", "md": b"#"}
    for fmt, start in magic.items():
        with page.expect_download() as info:
            page.locator(f"#export-{fmt}").click()
        download = info.value
        assert download.suggested_filename.endswith(f".{fmt}")
        body = Path(download.path()).read_bytes()
        assert len(body) > 100 and body.startswith(start), fmt
    page.locator("#raw-data summary").click()
    expect(page.locator("#raw-data tbody tr")).to_have_count(50)


def test_viewer_sees_no_admin_pages(page, login, users, running_camera):
    login(users["viewer"]).goto("/cameras/")
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Dashboard", "Cameras", "Analytics", "Alerts", "Recordings"):
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    for label in ("Settings", "Users", "Logs"):
        expect(nav.get_by_role("link", name=label)).to_have_count(0)
    assert page.get_by_role("button", name="Start").count() == 0
    assert page.get_by_role("button", name="Stop").count() == 0
    for url in ("/settings/", "/users/", "/logs/", "/cameras/add/"):
        assert page.goto(url).status == 403
    page.goto("/cameras/")
    status = page.evaluate(
        """async (id) => {
             const token = document.body.getAttribute('hx-headers').match(/"X-CSRFToken": "([^"]+)"/)[1];
             const r = await fetch(`/cameras/${id}/stop/`, {method: 'POST', headers: {'X-CSRFToken': token}});
             return r.status; }""",
        running_camera.pk,
    )
    assert status == 403
    running_camera.refresh_from_db()
    assert running_camera.desired_state == DesiredState.RUNNING


def test_live_update_latency_under_one_second(page, login, users, running_camera):
    login(users["viewer"]).goto("/")
    _wait_ws(page)
    latencies = []
    for i in range(5):
        page.evaluate("() => { window.__t0 = performance.now(); }")
        start = time.perf_counter()
        push("dashboard", "dashboard.update", _summary(running_camera, 100 + i))
        page.wait_for_function(
            f"() => document.getElementById('dash-cam-{running_camera.pk}-count')"
            f".textContent === '{100 + i}'",
            polling="raf",
        )
        latencies.append(time.perf_counter() - start)
    assert max(latencies) < 1.0, latencies
