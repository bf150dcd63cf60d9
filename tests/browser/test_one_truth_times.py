"""Issue #14 items 3 and 7 in a real browser: a stopped camera's placeholder, times in the
viewer's zone, the analytics page reloading on a new camera or zone, and charts that break
across gaps in the data."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from playwright.sync_api import expect

from alerts.models import Alert, AlertLevel, AlertTrigger
from analytics.models import Metric, RiskLevel
from cameras.models import Camera, CameraStatus, DesiredState, SourceType, Zone
from tests.browser.conftest import session_cookie


def _camera(name: str, status: str = CameraStatus.RUNNING) -> Camera:
    return Camera.objects.create(name=name, source_type=SourceType.RTSP, source="rtsp://10.0.0.9/live",
                                 status=status, desired_state=DesiredState.STOPPED)


def _rows(camera: Camera, times: list[datetime], count: int, zone: Zone | None = None) -> None:
    Metric.objects.bulk_create(
        Metric(camera=camera, zone=zone, timestamp=at, count=count, count_max=count, density=count / 50,
               avg_speed=0.5, max_speed=1.0, risk_score=0.1, risk_level=RiskLevel.SAFE)
        for at in times
    )


def _failed_requests(page) -> list[str]:
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(f"failed {r.url}"))
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    return failed


def test_a_stopped_camera_shows_a_placeholder_not_a_broken_image(login, users, transactional_db):
    camera = _camera("Finished Stand", CameraStatus.FINISHED)
    Camera.objects.filter(pk=camera.pk).update(status_detail="End of the video. 120 frames analysed.")
    page = login(users["viewer"])
    failed = _failed_requests(page)
    page.goto(f"/cameras/{camera.pk}/")
    placeholder = page.locator(f"#stream-{camera.pk}-placeholder")
    expect(placeholder).to_be_visible()
    expect(placeholder).to_contain_text("No live video")
    expect(placeholder).to_contain_text("Finished")
    expect(placeholder).to_contain_text("End of the video")
    assert page.locator(f"#stream-{camera.pk}").count() == 0
    assert page.locator("img[src*='/stream/']").count() == 0
    page.wait_for_load_state("networkidle")
    assert failed == []


def test_a_stream_that_answers_409_gives_way_to_the_placeholder(login, users, transactional_db):
    """The camera says running but no runner holds it (its stream answers 409): the image hides
    and the placeholder shows, instead of a broken image."""
    camera = _camera("Gateless")
    page = login(users["viewer"])
    page.goto(f"/cameras/{camera.pk}/")
    expect(page.locator(f"#stream-{camera.pk}-placeholder")).to_be_visible()
    expect(page.locator(f"#stream-{camera.pk}")).to_be_hidden()


def test_times_show_in_the_viewers_zone_with_utc_on_hover(browser, asgi_server, users, transactional_db):
    camera = _camera("Tokyo Gate")
    alert = Alert.objects.create(camera=camera, level=AlertLevel.WARNING, trigger=AlertTrigger.DENSITY,
                                 message="Density 4.1 p/m²")
    Alert.objects.filter(pk=alert.pk).update(created_at=datetime(2026, 3, 14, 12, 0, 5, tzinfo=UTC))
    context = browser.new_context(base_url=asgi_server, timezone_id="Asia/Tokyo",
                                  viewport={"width": 1400, "height": 1000})
    try:
        context.add_cookies([session_cookie(users["viewer"], asgi_server)])
        page = context.new_page()
        page.goto("/alerts/")
        shown = page.locator(f"#alert-{alert.pk} time")
        expect(shown).to_have_text("14 Mar 2026, 21:00:05 GMT+9")  # server fallback: 12:00:05 (UTC)
        expect(shown).to_have_attribute("title", "2026-03-14 12:00:05 UTC")
        expect(shown).to_have_attribute("datetime", "2026-03-14T12:00:05Z")
        page.goto("/")  # the dashboard's latest alerts
        expect(page.locator("#latest-alerts time").first).to_have_text("14 Mar, 21:00:05 GMT+9")
        expect(page.locator("#clock")).to_contain_text("Asia/Tokyo")
    finally:
        context.close()


def test_chart_times_are_in_the_viewers_zone(browser, asgi_server, users, transactional_db):
    """The analytics chart and the camera page's live chart label their points in the
    browser's zone (the server's labels, in the site's zone, are only the fallback)."""
    camera = _camera("Osaka Gate")
    times = [timezone.now().replace(microsecond=0) - timedelta(seconds=s) for s in range(40, 10, -1)]
    _rows(camera, times, 6)
    tokyo = [(at + timedelta(hours=9)).strftime("%H:%M:%S") for at in times]
    context = browser.new_context(base_url=asgi_server, timezone_id="Asia/Tokyo",
                                  viewport={"width": 1400, "height": 1000})
    try:
        context.add_cookies([session_cookie(users["viewer"], asgi_server)])
        page = context.new_page()
        page.goto(f"/analytics/?camera={camera.pk}&preset=1h")
        expect(page.locator("#chart-count")).to_have_attribute("data-points", re.compile(r"\d+"))
        labels = page.evaluate("CrowdSafe.analyticsCharts['chart-count'].data.labels")
        island = page.evaluate("JSON.parse(document.getElementById('analytics-data').textContent)")
        buckets = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in island["times"]]
        assert len(buckets) >= 3 and buckets[0] <= times[0]
        assert labels == [(at + timedelta(hours=9)).strftime("%H:%M:%S") for at in buckets]
        assert labels != island["labels"]  # the site's zone (UTC here) was the fallback only
        expect(page.locator("[data-browser-zone]")).to_have_text("Asia/Tokyo")
        page.goto(f"/cameras/{camera.pk}/")
        canvas = f"live-chart-{camera.pk}"
        page.wait_for_function(f"window.CrowdSafe && CrowdSafe.liveCharts['{canvas}']")
        seed = page.evaluate(f"CrowdSafe.liveCharts['{canvas}'].data.labels")
        assert seed[0] == tokyo[0] and seed[-1] == tokyo[-1], (seed, tokyo)
    finally:
        context.close()


def test_analytics_reloads_on_a_new_camera_or_zone_keeping_the_range(login, users, transactional_db):
    now = timezone.now().replace(microsecond=0)
    first, second = _camera("A Stand"), _camera("B Stand")
    zone = Zone.objects.create(camera=second, name="Pitch side", polygon=[[0, 0], [1, 0], [1, 1]])
    _rows(first, [now - timedelta(seconds=s) for s in range(1, 31)], 10)
    _rows(second, [now - timedelta(seconds=s) for s in range(1, 21)], 20)
    _rows(second, [now - timedelta(seconds=s) for s in range(1, 8)], 5, zone)
    page = login(users["viewer"])
    page.goto(f"/analytics/?camera={first.pk}&preset=1h")
    records = page.locator("#sum-records")
    expect(records).to_have_text("30")
    page.select_option("#id_camera", str(second.pk))
    expect(records).to_have_text("20")
    expect(page).to_have_url(re.compile(rf"camera={second.pk}.*preset=1h|preset=1h.*camera={second.pk}"))
    expect(page.locator("#id_zone option", has_text="Pitch side")).to_have_count(1)  # its zones now
    page.select_option("#id_zone", str(zone.pk))
    expect(records).to_have_text("7")
    expect(page.locator("#analytics-results")).to_contain_text("B Stand / Pitch side")
    expect(page.locator('[data-preset="1h"]')).to_have_attribute("aria-pressed", "true")


def test_charts_break_across_a_gap_in_the_data(login, users, transactional_db):
    """30 s of data, 10 minutes of none, 30 s again: the analytics chart (10 s buckets) and the
    camera page's live chart (its seed, 1 s rows) hold one null point between the two runs."""
    now = timezone.now().replace(microsecond=0)
    camera = _camera("Gap Stand")
    old = [now - timedelta(minutes=12, seconds=s) for s in range(30, 0, -1)]
    new = [now - timedelta(seconds=s) for s in range(30, 0, -1)]
    _rows(camera, old + new, 8)
    page = login(users["viewer"])
    page.goto(f"/analytics/?camera={camera.pk}&preset=1h")
    expect(page.locator("#chart-count")).to_have_attribute("data-points", re.compile(r"\d+"))
    data = page.evaluate("CrowdSafe.analyticsCharts['chart-count'].data.datasets[0].data")
    nulls = [i for i, v in enumerate(data) if v is None]
    assert len(nulls) == 1 and 0 < nulls[0] < len(data) - 1, data
    assert all(v is not None for v in data[: nulls[0]] + data[nulls[0] + 1:])

    # The camera page's live chart: the last 5 minutes hold two runs 60 s apart.
    Metric.objects.filter(camera=camera).delete()
    _rows(camera, [now - timedelta(seconds=s) for s in [*range(120, 100, -1), *range(40, 20, -1)]], 8)
    page.goto(f"/cameras/{camera.pk}/")
    canvas = f"live-chart-{camera.pk}"
    page.wait_for_function(f"window.CrowdSafe && CrowdSafe.liveCharts['{canvas}']")
    seed = page.evaluate(f"CrowdSafe.liveCharts['{canvas}'].data.datasets[0].data")
    assert seed.count(None) == 1 and len(seed) == 41, seed
