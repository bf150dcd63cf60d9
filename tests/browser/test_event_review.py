"""Issue #14 item 1: a viewer reviews an event in Chromium. The clip the event-clip sink cut
(real sinks, real H.264 writer) plays on the alert's page, served through the role-checked
API; the snapshot shows; the list and the camera's timeline lead there."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from alerts.models import Alert
from cameras.models import Camera
from tests.alerts.clip_feed import Runner

pytestmark = [pytest.mark.timeout(180)]


@pytest.fixture
def clipped(transactional_db, settings) -> Alert:
    settings.CROWDSAFE_EVENT_CLIP_PRE_S = 2.0
    settings.CROWDSAFE_EVENT_CLIP_POST_S = 3.0
    camera = Camera.objects.create(name="Review gate", area_m2=100.0)
    run = Runner(camera)
    run.feed(0, 6, density=4.5)  # raised at 2.0 s: a 5.1 s clip
    run.clips.close()
    alert = Alert.objects.get(camera=camera)
    assert alert.clip.name
    return alert


def test_a_viewer_plays_the_clip_of_an_alert(page, login, users, clipped):
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("requestfailed", lambda r: failed.append(f"failed {r.url}: {r.failure}"))
    login(users["viewer"]).goto("/alerts/?status=")

    row = page.locator(f"#alert-{clipped.pk}")
    expect(row.locator("img.thumb")).to_be_visible()
    assert row.locator("img.thumb").evaluate("i => i.decode().then(() => i.naturalWidth)") == 1280
    row.get_by_role("link", name="▶ Clip 5 s").click()
    expect(page).to_have_url(f"{page.url.split('/alerts/')[0]}/alerts/{clipped.pk}/#clip")

    video = page.locator("#alert-clip")
    expect(video).to_be_visible()
    page.wait_for_function("() => document.getElementById('alert-clip').readyState >= 1", timeout=15_000)
    meta = video.evaluate("v => ({w: v.videoWidth, h: v.videoHeight, d: v.duration, err: v.error})")
    assert meta["err"] is None and (meta["w"], meta["h"]) == (640, 360)
    assert meta["d"] == pytest.approx(clipped.clip_duration_s, abs=0.15)
    # It really decodes and plays: frames advance the clock (muted, so autoplay rules allow it).
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.getElementById('alert-clip').currentTime > 1.0", timeout=15_000)
    assert page.locator("#alert-snapshot").evaluate("i => i.decode().then(() => i.naturalWidth)") > 0
    expect(page.locator("#alert-events")).to_contain_text("Raised")
    assert failed == []

    page.goto(f"/cameras/{clipped.camera_id}/events/")
    expect(page.locator(f"#event-{clipped.pk} img.thumb")).to_be_visible()
    assert failed == []


def test_the_clip_appears_on_an_open_alert_page_once_it_is_cut(page, login, users, settings):
    settings.CROWDSAFE_EVENT_CLIP_PRE_S = 2.0
    settings.CROWDSAFE_EVENT_CLIP_POST_S = 3.0
    camera = Camera.objects.create(name="Live review", area_m2=100.0)
    run = Runner(camera)
    run.feed(0, 3, density=4.5)  # raised at 2.0 s; its post-roll runs to 5.0 s
    alert = Alert.objects.get(camera=camera)
    login(users["operator"]).goto(f"/alerts/{alert.pk}/")
    expect(page.locator("#ws-label")).to_have_text("live")
    expect(page.locator("#clip")).to_contain_text("No clip")

    run.feed(3, 6, density=4.5)
    run.clips.close()  # attached, and pushed as a changed alert
    loaded = "() => (document.getElementById('alert-clip') || {}).readyState >= 1"
    page.wait_for_function(loaded, timeout=15_000)
    alert.refresh_from_db()
    duration = page.locator("#alert-clip").evaluate("v => v.duration")
    assert duration == pytest.approx(alert.clip_duration_s, abs=0.15)
