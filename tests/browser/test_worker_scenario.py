"""The issue's full scenario: a real Celery worker analyses vtest.avi while an operator watches.

The count on the dashboard changes without a reload, the camera view shows the annotated
video, an alert raised by the rules pops up as a toast and marks the camera's wall tile, a
small tile plays the light rendering and full screen the full one, and acknowledging the
alert lowers the badge.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from alerts.models import Alert, AlertStatus
from cameras import services
from cameras.models import Camera, DesiredState
from cameras.uploads import import_video_file

pytestmark = [pytest.mark.timeout(420)]


@pytest.fixture
def stream_worker(transactional_db, browser_media, test_model):
    from tests.support import Worker

    worker = Worker(browser_media, name="pages", concurrency=1)
    yield worker
    worker.stop()


def _counts_seen(page, camera_id: int, wanted: int, timeout_ms: int) -> None:
    """Wait until the dashboard tile has shown `wanted` different numeric counts."""
    page.wait_for_function(
        """([id, wanted]) => {
             const el = document.getElementById(`dash-cam-${id}-count`);
             window.__seen = window.__seen || new Set();
             if (el && /^\\d+$/.test(el.textContent)) window.__seen.add(el.textContent);
             return window.__seen.size >= wanted; }""",
        arg=[camera_id, wanted],
        polling=100,
        timeout=timeout_ms,
    )


def test_operator_watches_vtest_through_a_real_worker(page, login, users, stream_worker, vtest_avi):
    # A tiny monitored area turns vtest's few pedestrians into a dangerous density, so the
    # alert rules fire within seconds.
    camera = services.create_camera(name="vtest walkway", area_m2=2.0, capacity=5, target_fps=5)
    import_video_file(camera, vtest_avi)
    login(users["operator"]).goto("/cameras/")
    page.locator(f"#camera-row-{camera.pk}").get_by_role("button", name="Start").click()
    expect(page.get_by_text("is starting")).to_be_visible()
    camera.refresh_from_db()
    assert camera.desired_state == DesiredState.RUNNING
    try:
        page.goto("/")
        expect(page.locator("#ws-label")).to_have_text("live")
        _counts_seen(page, camera.pk, 2, 120_000)  # changed at least once with no reload

        toast = page.locator("#toasts .toast").first
        expect(toast).to_be_visible(timeout=120_000)
        expect(toast).to_contain_text("vtest walkway")
        badge = page.locator("#alert-badge")
        before = int(badge.text_content())
        assert before >= 1
        # The video wall: the rules' alert marks the tile; a small tile plays the runner's light
        # rendering (640 px wide), full screen the full one (vtest's own 768 px).
        expect(page.locator(f"#wall-tile-{camera.pk}")).to_have_class(re.compile(r"\balerting\b"))
        page.locator('#wall-layout button[value="4"]').click()
        width = "([id, w]) => document.getElementById(id).naturalWidth === w"
        page.wait_for_function(width, arg=[f"stream-{camera.pk}", 640], timeout=20_000)
        page.get_by_role("button", name="Full screen: vtest walkway").click()
        page.wait_for_function(width, arg=[f"stream-{camera.pk}", 768], timeout=20_000)
        page.keyboard.press("Escape")
        page.wait_for_function("() => document.fullscreenElement === null")

        page.goto(f"/cameras/{camera.pk}/")
        page.wait_for_function(
            f"() => document.getElementById('stream-{camera.pk}').naturalWidth > 0", timeout=30_000
        )
        expect(page.locator(f"#cam-{camera.pk}-count")).to_have_text(re.compile(r"^\d+$"))

        page.goto("/alerts/")
        alert = Alert.objects.filter(camera=camera, status=AlertStatus.OPEN).order_by("created_at").first()
        row = page.locator(f"#alert-{alert.pk}")
        shown = int(badge.text_content())
        row.get_by_role("button", name="Acknowledge").click()
        page.wait_for_function(
            "n => Number(document.getElementById('alert-badge').textContent) < n", arg=shown, timeout=10_000
        )
        alert.refresh_from_db()
        assert alert.status == AlertStatus.ACKNOWLEDGED
    finally:
        services.stop_camera(Camera.objects.get(pk=camera.pk))
