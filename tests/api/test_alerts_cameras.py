"""Alerts workflow and filters; cameras CRUD with masked credentials; recordings download."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from alerts.models import Alert

pytestmark = pytest.mark.django_db


def test_acknowledge_then_resolve_with_notes(api_as, operator_user, make_alert):
    alert = make_alert()
    api = api_as(operator_user)
    assert api.get("/api/alerts/unacknowledged/count/").json() == {"count": 1}
    ack = api.post(f"/api/alerts/{alert.pk}/acknowledge/", {"note": "Stewards sent"}, format="json")
    assert ack.status_code == 200
    assert ack.json()["status"] == "acknowledged" and ack.json()["acknowledged_by"] == "oscar_operator"
    assert api.get("/api/alerts/unacknowledged/count/").json() == {"count": 0}
    again = api.post(f"/api/alerts/{alert.pk}/acknowledge/", {}, format="json")
    assert again.status_code == 400 and "status" in again.json()["errors"]
    done = api.post(f"/api/alerts/{alert.pk}/resolve/", {"note": "Crowd dispersed"}, format="json")
    assert done.status_code == 200 and done.json()["resolve_note"] == "Crowd dispersed"
    assert [e["action"] for e in done.json()["events"]] == ["acknowledged", "resolved"]
    assert Alert.objects.get(pk=alert.pk).resolved_by == operator_user


def test_alert_filters(api_as, viewer_user, camera, zone, make_alert):
    from cameras.models import Camera

    other = Camera.objects.create(name="South")
    make_alert(level="CRITICAL", zone=zone)
    make_alert(level="WARNING", status="resolved")
    make_alert(camera=other)
    api = api_as(viewer_user)

    def count(**params):
        response = api.get("/api/alerts/", params)
        assert response.status_code == 200, response.content
        return response.json()["count"]

    assert count() == 3 and count(camera=camera.pk) == 2 and count(zone=zone.pk) == 1
    assert count(level="critical") == 1 and count(risk_level="WARNING") == 2
    assert count(status="resolved") == 1 and count(resolved="false") == 2
    assert count(start=(timezone.now() - timedelta(minutes=5)).isoformat()) == 3
    assert count(end=(timezone.now() - timedelta(minutes=5)).isoformat()) == 0
    stats = api.get("/api/alerts/statistics/", {"camera": camera.pk}).json()
    assert stats["total"] == 2 and stats["by_level"] == {"WARNING": 1, "CRITICAL": 1}
    assert stats["by_status"]["resolved"] == 1
    for bad in ({"level": "LOUD"}, {"camera": "x"}, {"start": "soon"}, {"status": "gone"}):
        response = api.get("/api/alerts/", bad)
        assert response.status_code == 400 and response.json()["errors"], bad
    assert api.get("/api/alerts/99999999/").status_code == 404
    assert api.get("/api/alerts/abc/").status_code == 404


def test_camera_crud_masks_credentials_everywhere(api_as, admin_user, viewer_user):
    api = api_as(admin_user)
    created = api.post(
        "/api/cameras/",
        {
            "name": "East",
            "source_type": "rtsp",
            "source": "rtsp://admin:hunter2@10.0.0.9:554/live",
            "area_m2": 90,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    camera_id = created.json()["id"]
    assert created.json()["source"] == "rtsp://admin:***@10.0.0.9:554/live"
    for response in (api.get("/api/cameras/"), api_as(viewer_user).get(f"/api/cameras/{camera_id}/")):
        assert "hunter2" not in response.content.decode()
    updated = api.patch(f"/api/cameras/{camera_id}/", {"capacity": 250}, format="json")
    assert updated.json()["capacity"] == 250 and "hunter2" not in updated.content.decode()
    bad = api.patch(f"/api/cameras/{camera_id}/", {"source": "ftp://x/y"}, format="json")
    assert bad.status_code == 400 and "source" in bad.json()["errors"]
    assert api.post("/api/cameras/", {"name": "East"}, format="json").status_code == 400  # duplicate name
    assert api.post("/api/cameras/", {"name": "X", "area_m2": "big"}, format="json").status_code == 400
    assert api.delete(f"/api/cameras/{camera_id}/").status_code == 204
    assert api.get(f"/api/cameras/{camera_id}/").status_code == 404


def test_start_needs_a_valid_source(api_as, operator_user, camera):
    from cameras.models import Camera

    empty = Camera.objects.create(name="No source")
    response = api_as(operator_user).post(f"/api/cameras/{empty.pk}/start/")
    assert response.status_code == 400 and response.json()["errors"]


def test_upload_a_real_video(api_as, operator_user, camera, vtest_avi, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.UPLOAD_DIR = tmp_path / "uploads"
    camera.source_type, camera.source = "file", ""  # an operator may not replace a live source
    camera.save()
    with vtest_avi.open("rb") as handle:
        response = api_as(operator_user).post(
            f"/api/cameras/{camera.pk}/upload/", {"video": handle}, format="multipart"
        )
    assert response.status_code == 201, response.content
    assert response.json()["source_type"] == "file"
    fake = ContentFile(b"not a video at all", name="clip.mp4")
    refused = api_as(operator_user).post(
        f"/api/cameras/{camera.pk}/upload/", {"video": fake}, format="multipart"
    )
    assert refused.status_code == 400


def test_recording_download_streams_the_file(api_as, operator_user, camera, settings, tmp_path):
    from cameras.models import Recording

    settings.MEDIA_ROOT = tmp_path
    recording = Recording(camera=camera, started_at=timezone.now())
    recording.file.save("gate.mp4", ContentFile(b"MP4DATA" * 1000))
    response = api_as(operator_user).get(f"/api/recordings/{recording.pk}/download/")
    assert response.status_code == 200 and response.streaming
    assert b"".join(response.streaming_content) == b"MP4DATA" * 1000
    assert 'filename="gate.mp4"' in response["Content-Disposition"]
    listing = api_as(operator_user).get("/api/recordings/", {"camera": camera.pk}).json()
    assert listing["count"] == 1 and listing["results"][0]["filename"] == "gate.mp4"
