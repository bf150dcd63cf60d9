"""Issue #14 item 2: the dashboard's video wall in a real browser (uvicorn, Chromium, Redis,
the channel layer): layouts kept per user, full screen per tile, state tiles, light streams on
small tiles, and a pushed alert marking its tile."""

from __future__ import annotations

from contextlib import ExitStack

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alerts.models import Alert, AlertLevel, AlertStatus, AlertTrigger
from analytics.engine import CountQuality
from cameras.models import Camera, CameraStatus, DesiredState, SourceType
from tests.browser.conftest import in_thread, push, session_cookie
from tests.browser.test_live_pages import frames_in_redis

pytestmark = [pytest.mark.timeout(180)]
COLUMNS = "() => getComputedStyle(document.getElementById('camera-grid')).gridTemplateColumns.split(' ')" \
    ".length"


def _camera(name: str, status: str = CameraStatus.RUNNING, **extra) -> Camera:
    return Camera.objects.create(name=name, source_type=SourceType.RTSP, source="rtsp://10.0.0.9/live",
                                 status=status, desired_state=DesiredState.RUNNING, **extra)


@pytest.fixture
def wall(transactional_db):
    """Five cameras on the wall, two of them streaming (lease held, a JPEG kept in Redis), three
    still connecting."""
    cameras = [_camera(f"Gate {n}", CameraStatus.RUNNING if n <= 2 else CameraStatus.STARTING)
               for n in range(1, 6)]
    with ExitStack() as stack:
        for camera in cameras[:2]:
            stack.enter_context(frames_in_redis(camera.pk))
        yield cameras


def _live(page) -> None:
    expect(page.locator("#ws-label")).to_have_text("live")


def _choose(page, value: str) -> None:
    page.locator(f'#wall-layout button[value="{value}"]').click()
    expect(page.locator("#wall-layout")).to_have_attribute("data-saved", value)  # the server has it


def test_each_layout_sets_the_columns_and_follows_the_user_to_a_new_browser(
    page, login, users, wall, browser, asgi_server
):
    login(users["viewer"]).goto("/")
    _live(page)
    assert page.evaluate(COLUMNS) == 3  # auto: five tiles fit a 3x3 grid
    first = page.locator(f"#stream-{wall[0].pk}")
    for value, columns, overlay in (("1", 1, "full"), ("2", 2, "full"), ("3", 3, "light"),
                                    ("4", 4, "light"), ("auto", 3, "light")):
        _choose(page, value)
        assert page.evaluate(COLUMNS) == columns, value
        pressed = page.locator(f'#wall-layout button[value="{value}"]')
        expect(pressed).to_have_attribute("aria-pressed", "true")
        expect(page.locator(f"#wall-tile-{wall[0].pk}")).to_have_attribute("data-overlay", overlay)
        light = "?overlay=light" if overlay == "light" else ""
        expect(first).to_have_attribute("src", f"/api/cameras/{wall[0].pk}/stream/{light}")
    # A small tile's stream really is the light one (a frame arrives through it).
    _choose(page, "4")
    page.wait_for_function("id => document.getElementById(id).naturalWidth > 0", arg=f"stream-{wall[0].pk}")
    page.reload()
    _live(page)
    assert page.evaluate(COLUMNS) == 4
    expect(page.locator('#wall-layout button[value="4"]')).to_have_attribute("aria-pressed", "true")

    other = browser.new_context(base_url=asgi_server, viewport={"width": 1400, "height": 1000})
    try:
        other.add_cookies([session_cookie(users["viewer"], asgi_server)])  # the same user, elsewhere
        pg = other.new_page()
        pg.goto("/")
        assert pg.evaluate(COLUMNS) == 4
        expect(pg.locator(f"#stream-{wall[0].pk}")).to_have_attribute(
            "src", f"/api/cameras/{wall[0].pk}/stream/?overlay=light"
        )
    finally:
        other.close()
    # Another user keeps their own layout.
    page.context.clear_cookies()
    login(users["operator"]).goto("/")
    assert page.evaluate(COLUMNS) == 3


def test_full_screen_shows_one_tile_with_the_full_stream_and_esc_leaves(page, login, users, wall):
    login(users["operator"]).goto("/")
    _live(page)
    _choose(page, "4")
    tile = f"wall-tile-{wall[1].pk}"
    stream = page.locator(f"#stream-{wall[1].pk}")
    expect(stream).to_have_attribute("src", f"/api/cameras/{wall[1].pk}/stream/?overlay=light")
    page.get_by_role("button", name="Full screen: Gate 2").click()
    page.wait_for_function("id => document.fullscreenElement?.id === id", arg=tile)
    expect(stream).to_have_attribute("src", f"/api/cameras/{wall[1].pk}/stream/")  # the full rendering
    expect(page.get_by_role("button", name="Full screen: Gate 2")).to_have_attribute("aria-pressed", "true")
    box = stream.bounding_box()
    assert box and box["width"] > 1000  # the tile fills the screen
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.fullscreenElement === null")
    expect(stream).to_have_attribute("src", f"/api/cameras/{wall[1].pk}/stream/?overlay=light")


def test_state_tiles_say_what_why_and_since_when_and_follow_live_status(page, login, users, wall):
    since = timezone.now().replace(microsecond=0)
    Camera.objects.filter(pk=wall[2].pk).update(
        status=CameraStatus.RECONNECTING, status_detail="Connection refused. Attempt 3.", status_since=since
    )
    login(users["viewer"]).goto("/")
    _live(page)
    state = page.locator(f"#stream-{wall[2].pk}-placeholder")
    expect(state).to_be_visible()
    expect(state).to_contain_text("Reconnecting")
    expect(state).to_contain_text("Connection refused. Attempt 3.")
    expect(state.locator("time")).to_have_attribute("datetime", since.strftime("%Y-%m-%dT%H:%M:%SZ"))
    expect(page.locator(f"#stream-{wall[2].pk}")).to_be_hidden()

    for camera, count in ((wall[0], 7), (wall[1], 5)):
        push("dashboard", "dashboard.update", {
            "camera_id": camera.pk, "name": camera.name, "count": count, "density": 0.1,
            "risk_level": "SAFE", "risk_score": 0.02, "status": "running",
            "count_quality": CountQuality("ok", [], None, None).to_dict(),
        })
    expect(page.locator("#total-people")).to_have_text("12")
    expect(page.locator("#total-running")).to_have_text("2")

    # A streaming tile whose video ends turns into a finished tile, never a broken image, and
    # leaves the headline (its last figures are not "now"), as a reload would show it.
    ended = "2026-12-02T12:40:05+00:00"
    push("dashboard", "camera.status", {"camera_id": wall[0].pk, "status": "finished",
                                        "detail": "End of the video. 790 frames analysed.", "since": ended})
    expect(page.locator("#total-running")).to_have_text("1")
    expect(page.locator("#total-people")).to_have_text("5")
    state = page.locator(f"#stream-{wall[0].pk}-placeholder")
    expect(state).to_be_visible()
    expect(state).to_contain_text("Finished")
    expect(state).to_contain_text("End of the video.")
    expect(state).to_contain_text("since")
    expect(state.locator("time")).to_have_attribute("datetime", "2026-12-02T12:40:05Z")
    img = page.locator(f"#stream-{wall[0].pk}")
    expect(img).to_be_hidden()
    assert img.get_attribute("src") is None
    # Running again (a restart): the video comes back in place of the state.
    push("dashboard", "camera.status", {"camera_id": wall[0].pk, "status": "running", "detail": "",
                                        "since": ended})
    expect(img).to_be_visible()
    # Three tiles a row at 1400 px: each is under 480 px wide, so the light rendering.
    expect(img).to_have_attribute("src", f"/api/cameras/{wall[0].pk}/stream/?overlay=light")
    expect(state).to_be_hidden()
    expect(page.locator("#total-running")).to_have_text("2")
    expect(page.locator("#grid-h")).to_have_text("Video wall")


def test_a_pushed_alert_marks_its_tile_until_acknowledged(page, login, users, wall):
    from alerts.live import push_alert

    login(users["operator"]).goto("/")
    _live(page)
    tile = page.locator(f"#wall-tile-{wall[3].pk}")
    expect(tile).not_to_have_class("tile wall-tile alerting")
    alert = Alert.objects.create(camera=wall[3], level=AlertLevel.CRITICAL, trigger=AlertTrigger.DENSITY,
                                 message="Density 6.3 p/m² over 6.0")
    in_thread(push_alert, alert, "alert.new")
    expect(tile).to_have_class("tile wall-tile alerting")
    expect(tile).to_have_attribute("aria-label", "Camera Gate 4, CRITICAL alert open")
    expect(page.locator(f"#wall-alert-{wall[3].pk}")).to_have_text("CRITICAL alert")
    expect(page.locator(f"#wall-tile-{wall[4].pk}")).to_have_class("tile wall-tile")  # the others stay
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.save()
    in_thread(push_alert, alert, "alert.changed")
    expect(tile).to_have_class("tile wall-tile")
    expect(tile).to_have_attribute("aria-label", "Camera Gate 4")
    expect(page.locator(f"#wall-alert-{wall[3].pk}")).to_be_hidden()
