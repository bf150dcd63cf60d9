"""Closed doors on the API (issue #12, points 3, 7, 8, 10-12; issue #11 point 5)."""

from __future__ import annotations

import logging
import threading

import cv2
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Tr0ub4dor&3-brand-new"


# --- 3 -----------------------------------------------------------------------------------------------


def test_api_masks_credentials_in_the_query_string(api_as, users, camera):
    camera.source = "rtsp://10.0.0.9/live?user=admin&pwd=Hunter2-secret&token=tok-XYZ&channel=1"
    camera.save()
    for role in ("viewer", "admin"):
        body = api_as(users[role]).get(f"/api/cameras/{camera.pk}/").content.decode()
        assert "Hunter2" not in body and "tok-XYZ" not in body and "admin&" not in body, role
        assert "channel=1" in body and "pwd=***" in body


# --- 7 -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/redoc/"])
def test_schema_and_docs_need_a_login(api_as, users, path):
    assert api_as(None).get(path).status_code == 401
    assert api_as(users["viewer"]).get(path).status_code == 200


def test_health_caches_the_worker_ping_and_throttles(api_as, settings):
    from django.core.cache import cache

    from crowdsafe.api_health import WORKERS_CACHE_KEY

    cache.delete(WORKERS_CACHE_KEY)
    cache.delete("throttle_health_127.0.0.1")
    client = api_as(None)
    first = client.get("/api/system/health/").json()
    assert cache.get(WORKERS_CACHE_KEY) == first["workers"]
    second = client.get("/api/system/health/").json()
    assert second["checked_in_ms"] < 400  # no second 0.5 s ping of every worker
    statuses = [client.get("/api/system/health/").status_code for _ in range(60)]
    assert statuses[-1] == 429 and statuses.count(200) == 58
    cache.delete("throttle_health_127.0.0.1")


# --- 8 and #11.5 -----------------------------------------------------------------------------------


def test_an_oversize_json_body_gets_413(api_as, users):
    body = '{"name": "' + "x" * (11 * 1024 * 1024) + '"}'
    for path in ("/api/cameras/", "/api/auth/login/"):
        response = api_as(users["admin"]).generic("POST", path, body, content_type="application/json")
        assert response.status_code == 413, path
        assert response.json()["status"] == 413 and "too large" in response.json()["detail"]


def _video(path, size=(128, 96), frames=15, fps=10.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), (i * 13) % 255, np.uint8))
    writer.release()
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="video/x-msvideo")


GIF_1X1 = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


@pytest.fixture
def file_camera(db, settings, tmp_path):
    from cameras.models import Camera

    settings.MEDIA_ROOT = tmp_path
    settings.UPLOAD_DIR = tmp_path / "uploads"
    return Camera.objects.create(name="Footage", area_m2=40)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: SimpleUploadedFile("x.mp4", GIF_1X1, content_type="video/mp4"), "not a video container"),
        (lambda p: _video(p / "tiny.avi", size=(32, 32)), "at least 64x64"),
        (lambda p: _video(p / "short.avi", frames=3), "too short"),
        (lambda p: SimpleUploadedFile("r.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 900), "not a video"),
    ],
    ids=["gif-named-mp4", "32x32", "0.3s", "garbage"],
)
def test_uploads_must_be_real_videos(api_as, users, file_camera, tmp_path, make, message):
    response = api_as(users["operator"]).post(
        f"/api/cameras/{file_camera.pk}/upload/", {"video": make(tmp_path)}, format="multipart"
    )
    assert response.status_code == 400, response.content
    assert message in response.content.decode()
    file_camera.refresh_from_db()
    assert file_camera.source == ""


def test_a_real_video_is_accepted(api_as, users, file_camera, tmp_path):
    response = api_as(users["operator"]).post(
        f"/api/cameras/{file_camera.pk}/upload/", {"video": _video(tmp_path / "ok.avi")}, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert response.json()["source_type"] == "file"


def test_the_probe_runs_outside_the_web_process(file_camera, tmp_path, monkeypatch):
    from cameras import probe, uploads

    def explode(path):  # the web process must never decode the file itself
        raise AssertionError("decoded in the web process")

    monkeypatch.setattr(probe, "probe", explode)
    _video(tmp_path / "c.avi")
    result = uploads.probe_video(tmp_path / "c.avi")
    assert (result["width"], result["height"], result["frames"]) == (128, 96, 15)


# --- 10 ----------------------------------------------------------------------------------------------


def test_viewers_never_see_telegram_chat_ids(api_as, users, make_alert):
    from alerts.models import AlertEvent

    alert = make_alert(notification_state="failed", notification_error="chat -100123456: 400 Bad Request")
    AlertEvent.objects.create(alert=alert, action="notify_failed", note="escalation: chat 987654: timeout")
    viewer = api_as(users["viewer"]).get(f"/api/alerts/{alert.pk}/").content.decode()
    listing = api_as(users["viewer"]).get("/api/alerts/").content.decode()
    for body in (viewer, listing):
        assert "100123456" not in body and "987654" not in body
    admin = api_as(users["admin"]).get(f"/api/alerts/{alert.pk}/").content.decode()
    assert "100123456" in admin


def test_http_client_debug_logs_never_show_the_bot_token():
    for name in ("urllib3", "urllib3.connectionpool", "requests"):
        assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name


def test_reader_threads_are_not_named_after_the_url():
    from cameras.runtime.readers import LiveReader
    from cameras.sources import ResolvedSource

    source = ResolvedSource("rtsp", "rtsp://admin:Hunter2@10.0.0.5/live?pwd=x", True)
    reader = LiveReader(source, open_timeout_s=1, watchdog_s=1, backoff_initial_s=1, backoff_max_s=1)
    assert "Hunter2" not in reader._thread.name and "admin" not in reader._thread.name
    assert all("Hunter2" not in t.name for t in threading.enumerate())


# --- 11 ----------------------------------------------------------------------------------------------


def _refresh_works(token: str) -> bool:
    return APIClient().post("/api/auth/refresh/", {"refresh": token}, format="json").status_code == 200


def test_any_password_change_revokes_refresh_tokens(client_as, users):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    viewer = users["viewer"]
    # 1. the admin site's password form
    token = str(RefreshToken.for_user(viewer))
    admin = client_as(users["admin"])
    url = f"/admin/accounts/user/{viewer.pk}/password/"
    form = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    response = admin.post(url, form)
    assert response.status_code == 302
    assert not _refresh_works(token)
    # 2. the one-time set-password link
    token = str(RefreshToken.for_user(viewer))
    viewer.refresh_from_db()
    uid, reset = urlsafe_base64_encode(force_bytes(viewer.pk)), default_token_generator.make_token(viewer)
    admin.logout()
    form_url = admin.get(f"/reset/{uid}/{reset}/")["Location"]
    done = admin.post(form_url, {"new_password1": NEW_PASSWORD + "2", "new_password2": NEW_PASSWORD + "2"})
    assert done.status_code == 302
    assert not _refresh_works(token)
    # 3. the API (an admin sets it)
    token = str(RefreshToken.for_user(viewer))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(users['admin']).access_token}")
    body = {"password": NEW_PASSWORD + "3"}
    reset = api.post(f"/api/users/{viewer.pk}/reset-password/", body, format="json")
    assert reset.status_code == 200
    assert not _refresh_works(token)


# --- 12 ----------------------------------------------------------------------------------------------


def test_operator_upload_cannot_turn_an_rtsp_camera_into_a_file(api_as, users, camera, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    settings.UPLOAD_DIR = tmp_path / "uploads"
    source = camera.source
    response = api_as(users["operator"]).post(
        f"/api/cameras/{camera.pk}/upload/", {"video": _video(tmp_path / "ok.avi")}, format="multipart"
    )
    assert response.status_code == 403 and "only an admin" in response.json()["detail"]
    camera.refresh_from_db()
    assert (camera.source_type, camera.source) == ("rtsp", source)
    admin = api_as(users["admin"]).post(
        f"/api/cameras/{camera.pk}/upload/", {"video": _video(tmp_path / "ok2.avi")}, format="multipart"
    )
    assert admin.status_code == 201

