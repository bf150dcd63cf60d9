"""The dashboard's video wall on the server: which cameras it shows, their state tiles (reason,
since when), the user's layout (kept on the server, validated, CSRF and role checked), the
rendering each tile asks for, and open alerts marking their tiles."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts.models import AlertLevel, AlertStatus
from cameras.models import Camera, CameraStatus, DesiredState, SourceType
from cameras.status import set_status
from crowdsafe.wall import wall_columns

pytestmark = pytest.mark.django_db


def _camera(name: str, status: str, desired: str, **extra) -> Camera:
    return Camera.objects.create(name=name, source_type=SourceType.RTSP, source="rtsp://10.0.0.9/live",
                                 status=status, desired_state=desired, **extra)


def _tile(html: str, camera: Camera) -> str:
    found = re.search(rf'<article id="wall-tile-{camera.pk}".*?</article>', html, re.S)
    assert found, f"no tile for {camera.name}"
    return found.group(0)


def test_the_wall_shows_every_active_camera_and_says_why_one_shows_no_video(client_as, users):
    now = timezone.now()
    running = _camera("A running", CameraStatus.RUNNING, DesiredState.RUNNING)
    reconnecting = _camera("B reconnecting", CameraStatus.RECONNECTING, DesiredState.RUNNING,
                           status_detail="Connection refused. Attempt 3, next try in 4 s.",
                           status_since=now - timedelta(minutes=5))
    error = _camera("C error", CameraStatus.ERROR, DesiredState.RUNNING, status_detail="Decoder failed.")
    ended = _camera("D ended", CameraStatus.FINISHED, DesiredState.STOPPED,
                    status_detail="End of the video. 790 frames analysed.",
                    status_since=now - timedelta(minutes=9))
    _camera("E ended long ago", CameraStatus.FINISHED, DesiredState.STOPPED,
            status_since=now - timedelta(hours=3))
    _camera("F stopped", CameraStatus.STOPPED, DesiredState.STOPPED)

    html = client_as(users["viewer"]).get(reverse("dashboard")).content.decode()
    assert re.findall(r'<article id="wall-tile-(\d+)"', html) == [
        str(c.pk) for c in (running, reconnecting, error, ended)
    ]
    assert '<h2 id="grid-h">Video wall</h2>' in html and "Running cameras" not in html
    assert f'src="/api/cameras/{running.pk}/stream/"' in _tile(html, running)
    for camera, label in ((reconnecting, "Reconnecting"), (error, "Error"), (ended, "Finished")):
        tile = _tile(html, camera)
        assert f"/api/cameras/{camera.pk}/stream/" not in tile  # no image asks a stream that cannot answer
        state = re.search(rf'<div id="stream-{camera.pk}-placeholder"([^>]*)>(.*?)</div>', tile, re.S)
        assert state and "hidden" not in state.group(1)
        assert f">{label}<" in state.group(2) and camera.status_detail[:20] in state.group(2)
    since = re.search(r'since (<time datetime="([^"]+)"[^>]*>)', _tile(html, ended))
    assert since and since.group(2) == ended.status_since.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "since" not in _tile(html, error)  # a status from before status_since existed: unknown


def test_a_status_change_records_since_when_and_a_repeat_does_not(camera):
    set_status(camera.pk, CameraStatus.RECONNECTING, "Attempt 1.")
    camera.refresh_from_db()
    first = camera.status_since
    assert first is not None and timezone.now() - first < timedelta(seconds=5)
    set_status(camera.pk, CameraStatus.RECONNECTING, "Attempt 2.")
    camera.refresh_from_db()
    assert camera.status_since == first and camera.status_detail == "Attempt 2."
    set_status(camera.pk, CameraStatus.RUNNING, "")
    camera.refresh_from_db()
    assert camera.status_since > first


def test_the_live_status_fragment_updates_the_wall_tile_only_on_the_dashboard():
    data = {"camera_id": 7, "status": "finished", "detail": "End of the video.",
            "since": "2026-12-02T12:40:05+00:00"}
    dashboard = render_to_string("live/camera_status.html",
                                 {"data": data, "show": frozenset({"tiles", "status"})})
    state = re.search(r'<div id="stream-7-placeholder"([^>]*)>(.*?)</div>', dashboard, re.S)
    assert state and 'hx-swap-oob="true"' in state.group(1) and "hidden" not in state.group(1)
    assert "End of the video." in state.group(2)
    assert 'since <time datetime="2026-12-02T12:40:05Z"' in state.group(2)
    listing = render_to_string("live/camera_status.html", {"data": data, "show": frozenset({"status"})})
    assert "stream-7-placeholder" not in listing


@pytest.mark.parametrize(
    ("tiles", "columns"), [(0, 1), (1, 1), (2, 2), (4, 2), (5, 3), (9, 3), (10, 4), (30, 4)]
)
def test_auto_layout_is_the_smallest_square_grid_up_to_four_columns(tiles, columns):
    assert wall_columns("auto", tiles) == columns
    assert wall_columns("3", tiles) == 3


def test_the_layout_is_kept_per_user_and_picks_the_tiles_rendering(client_as, users, camera):
    viewer = client_as(users["viewer"])
    url = reverse("dashboard_layout")
    answer = viewer.post(url, {"layout": "4"}, headers={"X-Requested-With": "fetch"})
    assert answer.status_code == 204
    users["viewer"].refresh_from_db()
    assert users["viewer"].wall_layout == "4"
    html = viewer.get(reverse("dashboard")).content.decode()
    assert 'style="--wall-cols: 4"' in html and 'data-layout="4"' in html
    assert re.search(r'value="4" aria-pressed="true"', html)
    assert f'src="/api/cameras/{camera.pk}/stream/?overlay=light"' in html  # small tiles: light
    # A plain form post (no JavaScript) comes back to the dashboard.
    assert viewer.post(url, {"layout": "1"}).url == reverse("dashboard")
    html = viewer.get(reverse("dashboard_grid")).content.decode()
    assert 'style="--wall-cols: 1"' in html and f'src="/api/cameras/{camera.pk}/stream/"' in html
    # Another user's wall is their own.
    assert 'style="--wall-cols: 1"' in client_as(users["operator"]).get(reverse("dashboard")).content.decode()


@pytest.mark.parametrize("value", ["5", "", "auto ", "2x2", "0"])
def test_an_unknown_layout_is_refused_with_the_choices(client_as, users, value):
    answer = client_as(users["viewer"]).post(reverse("dashboard_layout"), {"layout": value})
    assert answer.status_code == 400
    assert "choose one of auto, 1, 2, 3, 4" in answer.content.decode()
    users["viewer"].refresh_from_db()
    assert users["viewer"].wall_layout == "auto"


def test_the_layout_endpoint_wants_a_user_a_post_and_a_csrf_token(client, users):
    url = reverse("dashboard_layout")
    answer = client.post(url, {"layout": "2"})
    assert answer.status_code == 302 and answer.url.startswith(reverse("login"))
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(users["viewer"])
    assert strict.post(url, {"layout": "2"}).status_code == 403  # no CSRF token
    strict.get(reverse("dashboard"))
    token = strict.cookies["csrftoken"].value
    assert strict.post(url, {"layout": "2", "csrfmiddlewaretoken": token}).status_code == 302
    assert strict.get(url).status_code == 405
    users["viewer"].refresh_from_db()
    assert users["viewer"].wall_layout == "2"


def test_an_open_alert_marks_its_tile_until_acknowledged(client_as, users, camera, make_alert):
    viewer = client_as(users["viewer"])
    alert = make_alert(level=AlertLevel.CRITICAL)
    tile = _tile(viewer.get(reverse("dashboard")).content.decode(), camera)
    assert 'class="tile wall-tile alerting"' in tile and f'data-alert-ids="{alert.pk} "' in tile
    assert 'aria-label="Camera North Gate, CRITICAL alert open"' in tile
    assert re.search(r'id="wall-alert-\d+" class="wall-alert" role="status">CRITICAL alert<', tile)
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.save()
    tile = _tile(viewer.get(reverse("dashboard")).content.decode(), camera)
    assert "alerting" not in tile and 'aria-label="Camera North Gate"' in tile


def test_alert_events_carry_the_wall_signal_only_to_the_dashboard():
    data = {"id": 12, "camera_id": 7, "camera_name": "North Gate", "zone_name": "", "status": "open",
            "level": "WARNING", "trigger": "density", "trigger_display": "Density", "message": "Dense",
            "unacknowledged_count": 1}
    signal = (r'<span id="wall-alert-signal" hidden hx-swap-oob="true" data-alert-id="12" '
              r'data-camera-id="7" data-alert-status="open" data-alert-level="WARNING">')
    for event in ("alert_new", "alert_changed"):
        show = frozenset({"alerts", "tiles"})
        assert re.search(signal, render_to_string(f"live/{event}.html", {"data": data, "show": show}))
        other = render_to_string(f"live/{event}.html", {"data": data, "show": frozenset({"alerts"})})
        assert "wall-alert-signal" not in other


def test_the_still_endpoint_is_routed_and_checks_before_it_serves(client, client_as, users, camera):
    url = f"/api/cameras/{camera.pk}/still/?overlay=light"
    assert client.get(url).status_code == 401
    viewer = client_as(users["viewer"])
    assert viewer.get(url).json()["code"] == "not_running"  # no runner holds the camera: 409
    assert viewer.get(url).status_code == 409
    assert viewer.get(f"/api/cameras/{camera.pk}/still/?overlay=huge").status_code == 400
    assert viewer.get("/api/cameras/999999/still/").status_code == 404
