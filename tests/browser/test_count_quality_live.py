"""Count quality and the tiling mode in a real browser, pushed live through the channel layer."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from analytics.engine import CameraGeometry, CountQuality, CrowdEngine, TilingState
from cameras.models import Camera, CameraStatus, DesiredState, SourceType
from tests.browser.conftest import push


@pytest.fixture
def running_camera(transactional_db) -> Camera:
    return Camera.objects.create(
        name="Stand North",
        source_type=SourceType.RTSP,
        source="rtsp://10.0.0.9/live",
        status=CameraStatus.RUNNING,
        desired_state=DesiredState.RUNNING,
    )


def _frame(camera: Camera, level: str, factor: float | None, active: bool) -> dict:
    """A real engine frame as the runner publishes it, with the engine's quality fields set."""
    engine = CrowdEngine(None, geometry=CameraGeometry(area_m2=50))
    boxes = np.array([[10 + 30 * i, 100, 30 + 30 * i, 160] for i in range(8)], float)
    result = engine.analyse((boxes, np.arange(8), None), 1.0, (1280, 720))
    reasons = ["saturated"] if level != "ok" else []
    estimate = round(result.count * factor) if factor else None
    result.count_quality = CountQuality(level, reasons, factor, estimate)
    result.tiling = TilingState("auto", active, (3, 2) if active else (1, 1), "")
    result.imgsz = 640
    return {
        **result.to_dict(include_persons=False),
        "camera_id": camera.pk,
        "name": camera.name,
        "status": "running",
    }


def _summary(frame: dict) -> dict:
    keys = ("camera_id", "name", "count", "density", "risk_level", "risk_score", "status", "count_quality")
    return {k: frame[k] for k in keys}


def test_camera_page_and_dashboard_show_the_quality_as_it_changes(page, login, users, running_camera):
    login(users["viewer"]).goto(f"/cameras/{running_camera.pk}/")
    expect(page.locator("#ws-label")).to_have_text("live")
    group = f"camera.{running_camera.pk}"
    push(group, "camera.update", _frame(running_camera, "ok", None, False))
    badge = page.locator(f"#cam-{running_camera.pk}-quality")
    expect(badge).to_have_text("Count ok")
    expect(page.locator(f"#cam-{running_camera.pk}-tiling")).to_have_text("Tiling: auto (off)")

    push(group, "camera.update", _frame(running_camera, "unreliable", 3.0, True))
    expect(badge).to_have_text("Count unreliable: detector saturated · ≈24 people estimated")
    expect(badge).to_have_attribute("data-count-quality", "unreliable")
    expect(page.locator(f"#cam-{running_camera.pk}-tiling")).to_have_text("Tiling: auto (on, 3x2)")

    page.goto("/")
    expect(page.locator("#ws-label")).to_have_text("live")
    push("dashboard", "dashboard.update", _summary(_frame(running_camera, "degraded", 1.5, True)))
    tile_badge = page.locator(f"#dash-cam-{running_camera.pk}-quality")
    expect(tile_badge).to_have_text("Count degraded: detector saturated · ≈12 people estimated")
    push("dashboard", "dashboard.update", _summary(_frame(running_camera, "ok", None, False)))
    expect(tile_badge).to_have_text("Count ok")
