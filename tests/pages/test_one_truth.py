"""One truth on every page (issue #14 item 3): one status vocabulary in pages and API, the worst
zone in the dashboard headline and the risk card, the reconnect reason on the camera page, and a
placeholder instead of the stream for a camera that cannot stream."""

from __future__ import annotations

import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from cameras import live
from cameras.models import Camera, CameraStatus, DesiredState

pytestmark = pytest.mark.django_db


def _pill(html: str, camera_id: int) -> str:
    match = re.search(rf'<span id="camera-status-{camera_id}"[^>]*>([^<]*)</span>', html)
    assert match, f"no status pill for camera {camera_id}"
    return match.group(1)


def _figures(camera: Camera, *, level: str, score: float, zones: list[dict]) -> dict:
    return {
        "camera_id": camera.pk, "name": camera.name, "status": "running", "count": 12,
        "tracked_count": 12, "density": 0.3, "level_of_service": "A", "density_level": "SAFE",
        "risk_level": level, "risk_score": score, "zones": zones, "lines": [],
    }


def _zone(name: str, level: str, score: float) -> dict:
    return {"id": 1, "name": name, "count": 9, "density": 2.5, "level_of_service": "D",
            "density_level": level, "risk_level": level, "risk_score": score, "capacity_utilization": None}


@pytest.fixture
def live_figures(camera):
    yield lambda data: live.store_metrics(camera.pk, data)
    live.clear_live_state(camera.pk)


@pytest.mark.parametrize("status", list(CameraStatus))
def test_every_page_and_the_api_name_a_status_alike(client_as, api_as, users, camera, status):
    """The camera list, the camera page, the dashboard tile, the live status fragment and the API
    all say CameraStatus's label (the API as `status_label`)."""
    Camera.objects.filter(pk=camera.pk).update(status=status, desired_state=DesiredState.RUNNING)
    client = client_as(users["viewer"])
    pushed = {"camera_id": camera.pk, "status": status.value}
    shown = {
        "list": _pill(client.get(reverse("cameras")).content.decode(), camera.pk),
        "detail": _pill(client.get(reverse("camera_detail", args=[camera.pk])).content.decode(), camera.pk),
        "dashboard": _pill(client.get(reverse("dashboard")).content.decode(), camera.pk),
        "live": _pill(render_to_string("live/camera_status.html", {"data": pushed}), camera.pk),
    }
    api = api_as(users["viewer"]).get(f"/api/cameras/{camera.pk}/").json()
    shown["api"] = api.get("status_label")
    assert api["status"] == status.value
    assert shown == dict.fromkeys(shown, status.label)


def test_the_risk_card_shows_the_worst_zone(client_as, users, camera, live_figures):
    """The whole view is SAFE 2 % while zone Gate B is WARNING 62 %: the card says WARNING 62 %
    (zone Gate B), never a green SAFE 2 %."""
    live_figures(_figures(camera, level="SAFE", score=0.02,
                          zones=[_zone("Pit", "CAUTION", 0.3), _zone("Gate B", "WARNING", 0.62)]))
    html = client_as(users["viewer"]).get(reverse("camera_detail", args=[camera.pk])).content.decode()
    card = re.search(rf'<div class="card" id="cam-{camera.pk}-risk-card">(.*?)</div></div>', html, re.S)
    card = card.group(1)
    value = re.search(rf'<div class="value ([^"]*)" id="cam-{camera.pk}-risk">([^<]*)<', card)
    assert value.group(2) == "WARNING" and "risk-warning" in value.group(1).split()
    sub = re.sub(r"<[^>]+>|\s+", " ", re.search(r'-risk-sub">(.*)', card, re.S).group(1))
    assert re.sub(r"\s+", " ", sub).strip().startswith("62 % (zone Gate B)")
    assert "SAFE 2 %" in re.sub(r"\s+", " ", sub)  # the whole view's own figure, as a second line


def test_the_dashboard_headline_counts_a_critical_zone(client_as, users, camera, live_figures):
    live_figures(_figures(camera, level="SAFE", score=0.05, zones=[_zone("Gate B", "CRITICAL", 0.91)]))
    html = client_as(users["viewer"]).get(reverse("dashboard")).content.decode()
    headline = re.search(r'<div class="value ([^"]*)" id="total-risk">([^<]*)</div>'
                         r'<div class="sub" id="total-risk-where">([^<]*)<', html)
    assert headline.group(2) == "CRITICAL" and "risk-critical" in headline.group(1).split()
    assert headline.group(3) == "North Gate, zone Gate B"
    tile = re.search(rf'<div id="dash-cam-{camera.pk}"[^>]*>', html).group(0)
    assert 'data-risk-level="CRITICAL"' in tile and 'data-risk-zone="Gate B"' in tile
    assert re.search(rf'id="dash-cam-{camera.pk}-risk">CRITICAL · 91%\s*\(zone Gate B\)<', html)


def test_the_live_tile_fragment_carries_the_worst_zone():
    data = {"camera_id": 5, "name": "Gate", "count": 3, "density": 0.1, "risk_level": "SAFE",
            "risk_score": 0.02, "status": "running",
            "worst_risk": {"level": "WARNING", "score": 0.62, "zone": "Gate B"}}
    html = render_to_string("live/dashboard_update.html", {"data": data})
    assert 'data-risk-level="WARNING"' in html and 'data-risk-zone="Gate B"' in html
    assert "WARNING · 62% (zone Gate B)" in html


def test_a_reconnecting_camera_page_shows_the_reason_and_attempt(client_as, users, camera):
    reason = "Could not read from the RTSP source. Attempt 3, next try in 4 s."
    Camera.objects.filter(pk=camera.pk).update(status=CameraStatus.RECONNECTING, status_detail=reason)
    html = client_as(users["viewer"]).get(reverse("camera_detail", args=[camera.pk])).content.decode()
    state = re.search(rf'<p id="cam-{camera.pk}-state"[^>]*>(.*?)</p>', html, re.S)
    assert state and "hidden" not in state.group(0).split(">")[0]
    assert re.sub(r"<[^>]+>", "", state.group(1)) == f"Reconnecting: {reason}"
    assert "not running" not in html
    # A new attempt reaches the open page on the camera's socket (and only there).
    data = {"camera_id": camera.pk, "status": "reconnecting", "detail": "… Attempt 4, next try in 8 s."}
    fragment = render_to_string(
        "live/camera_status.html", {"data": data, "show": frozenset({"camera", "status"})}
    )
    state = rf'<p id="cam-{camera.pk}-state"[^>]*hx-swap-oob="true"[^>]*>.*Attempt 4'
    assert re.search(state, fragment, re.S)
    listing = render_to_string("live/camera_status.html", {"data": data, "show": frozenset({"status"})})
    assert f"cam-{camera.pk}-state" not in listing


@pytest.mark.parametrize("status", [CameraStatus.STOPPED, CameraStatus.FINISHED, CameraStatus.ERROR])
def test_a_camera_that_cannot_stream_shows_a_placeholder(client_as, users, camera, status):
    Camera.objects.filter(pk=camera.pk).update(status=status, status_detail="End of the video.",
                                               desired_state=DesiredState.RUNNING)
    client = client_as(users["viewer"])
    for url in (reverse("camera_detail", args=[camera.pk]), reverse("dashboard")):
        html = client.get(url).content.decode()
        assert f"/api/cameras/{camera.pk}/stream/" not in html, url  # no image asks the stream
        placeholder = re.search(rf'<div id="stream-{camera.pk}-placeholder"([^>]*)>(.*?)</div>', html, re.S)
        assert placeholder and "hidden" not in placeholder.group(1), url
        assert "No live video" in placeholder.group(2) and f">{status.label}<" in placeholder.group(2)


def test_a_running_camera_keeps_its_stream(client_as, users, camera):
    html = client_as(users["viewer"]).get(reverse("camera_detail", args=[camera.pk])).content.decode()
    assert f'<img id="stream-{camera.pk}" src="/api/cameras/{camera.pk}/stream/"' in html
