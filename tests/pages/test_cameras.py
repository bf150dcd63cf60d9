"""Camera pages: add/edit with inline errors, upload, test connection, start/stop, zones."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cameras.models import Camera, CountingLine, DesiredState, Zone
from tests.support import free_port

GOOD = {
    "name": "South Stand",
    "location": "",
    "source_type": "rtsp",
    "area_m2": "80",
    "capacity": "300",
    "target_fps": "10",
}


def test_add_camera_with_bad_source_shows_error_and_saves_nothing(client_as, users):
    data = {**GOOD, "source": "http://wrong-scheme/stream"}
    response = client_as(users["admin"]).post(reverse("camera_add"), data)
    assert response.status_code == 400
    assert "rtsp://" in response.content.decode()  # the services' message, next to the field
    assert b'class="field has-error"' in response.content
    assert not Camera.objects.exists()


def test_add_camera_with_invalid_numbers_is_400(client_as, users):
    data = {**GOOD, "source": "rtsp://h/s", "area_m2": "-3", "target_fps": "abc"}
    response = client_as(users["admin"]).post(reverse("camera_add"), data)
    assert response.status_code == 400
    assert not Camera.objects.exists()


def test_add_rtsp_camera_and_edit_never_shows_password(client_as, users):
    client = client_as(users["admin"])
    response = client.post(reverse("camera_add"), {**GOOD, "source": "rtsp://u:hunter22@10.1.1.1:554/live"})
    camera = Camera.objects.get(name="South Stand")
    assert response.status_code == 302 and response["Location"] == reverse("camera_detail", args=[camera.pk])
    edit = client.get(reverse("camera_edit", args=[camera.pk])).content.decode()
    assert "hunter22" not in edit and "u:***@10.1.1.1:554" in edit
    assert "hunter22" not in client.get(reverse("cameras")).content.decode()
    # Saving the form with the masked URL keeps the stored credentials.
    client.post(
        reverse("camera_edit", args=[camera.pk]),
        {**GOOD, "name": "South Stand 2", "source": "rtsp://u:***@10.1.1.1:554/live"},
    )
    camera.refresh_from_db()
    assert camera.name == "South Stand 2" and camera.source == "rtsp://u:hunter22@10.1.1.1:554/live"


def test_htmx_add_redirects_with_header(client_as, users):
    response = client_as(users["admin"]).post(
        reverse("camera_add"), {**GOOD, "source_type": "usb", "source": "0"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/cameras/")


def test_upload_video_with_new_camera(client_as, users, media, vtest_avi):
    video = SimpleUploadedFile("clip.avi", vtest_avi.read_bytes(), content_type="video/x-msvideo")
    response = client_as(users["admin"]).post(
        reverse("camera_add"), {**GOOD, "source_type": "file", "source": "", "video": video}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    camera = Camera.objects.get(name="South Stand")
    assert camera.source and (media / "uploads" / camera.source).is_file()
    frame = client_as(users["viewer"]).get(reverse("camera_frame", args=[camera.pk]))
    assert frame.status_code == 200 and frame["Content-Type"] == "image/jpeg"
    assert frame.content[:2] == b"\xff\xd8"
    result = client_as(users["admin"]).post(
        reverse("camera_test_connection"), {"source_type": "file", "source": camera.source}
    )
    assert result.status_code == 200 and "result-ok" in result.content.decode()


def test_upload_of_a_non_video_is_refused_and_rolls_back(client_as, users, media):
    junk = SimpleUploadedFile("notes.avi", b"this is not a video" * 100, content_type="video/x-msvideo")
    response = client_as(users["admin"]).post(
        reverse("camera_add"), {**GOOD, "source_type": "file", "source": "", "video": junk}
    )
    assert response.status_code == 400
    assert b"errorlist" in response.content
    assert not Camera.objects.exists()


def test_test_connection_reports_failure(client_as, users):
    response = client_as(users["admin"]).post(
        reverse("camera_test_connection"), {"source_type": "rtsp", "source": "ftp://x/y"}
    )
    assert response.status_code == 200 and "result-fail" in response.content.decode()
    missing = client_as(users["admin"]).post(reverse("camera_test_connection"), {})
    assert missing.status_code == 400


def test_start_without_source_is_a_clear_error(client_as, users):
    camera = Camera.objects.create(name="Empty", source_type="file", source="")
    client = client_as(users["operator"])
    response = client.post(reverse("camera_start", args=[camera.pk]), follow=True)
    assert response.status_code == 200
    assert "cannot start" in response.content.decode()
    camera.refresh_from_db()
    assert camera.desired_state == DesiredState.STOPPED


def test_operator_stops_camera(client_as, users, camera):
    response = client_as(users["operator"]).post(
        reverse("camera_stop", args=[camera.pk]), {"next": reverse("camera_detail", args=[camera.pk])}
    )
    assert response.status_code == 302 and response["Location"] == reverse("camera_detail", args=[camera.pk])
    camera.refresh_from_db()
    assert camera.desired_state == DesiredState.STOPPED


def test_stop_ignores_foreign_next(client_as, users, camera):
    response = client_as(users["operator"]).post(
        reverse("camera_stop", args=[camera.pk]), {"next": "//evil.example/"}
    )
    assert response["Location"] == reverse("cameras")


def test_delete_needs_confirmation(client_as, users, camera):
    client = client_as(users["admin"])
    confirm = client.get(reverse("camera_delete", args=[camera.pk]))
    assert confirm.status_code == 200 and b"cannot be undone" in confirm.content
    assert Camera.objects.filter(pk=camera.pk).exists()
    assert client.post(reverse("camera_delete", args=[camera.pk])).status_code == 302
    assert not Camera.objects.filter(pk=camera.pk).exists()


def test_zone_line_and_calibration(client_as, users, camera):
    client = client_as(users["admin"])
    url = reverse("camera_zones", args=[camera.pk])
    assert client.get(url).status_code == 200
    polygon = [[0.1, 0.1], [0.6, 0.1], [0.6, 0.7], [0.1, 0.7]]
    ok = client.post(
        url, {"action": "zone", "zone-name": "Pit", "zone-polygon": json.dumps(polygon), "zone-area_m2": "20"}
    )
    assert ok.status_code == 302
    assert Zone.objects.get(camera=camera, name="Pit").polygon == polygon
    dup = client.post(url, {"action": "zone", "zone-name": "Pit", "zone-polygon": json.dumps(polygon)})
    assert dup.status_code == 400 and Zone.objects.filter(camera=camera).count() == 1
    bad = client.post(url, {"action": "zone", "zone-name": "Bad", "zone-polygon": "[[0.1, 0.1], [2, 3]]"})
    assert bad.status_code == 400 and b"errorlist" in bad.content
    notjson = client.post(url, {"action": "zone", "zone-name": "Bad", "zone-polygon": "[[0.1,"})
    assert notjson.status_code == 400 and b"not valid JSON" in notjson.content
    line = client.post(
        url,
        {
            "action": "line",
            "line-name": "Gate",
            "line-points": "[[0.2, 0.5], [0.8, 0.5]]",
            "line-in_side": "left",
        },
    )
    assert line.status_code == 302 and CountingLine.objects.filter(camera=camera).count() == 1
    image = [[0.1, 0.9], [0.9, 0.9], [0.7, 0.3], [0.3, 0.3]]
    world = [[0, 0], [10, 0], [10, 20], [0, 20]]
    cal = client.post(
        url,
        {
            "action": "calibration",
            "calibration-image_points": json.dumps(image),
            "calibration-world_points": json.dumps(world),
        },
        follow=True,
    )
    camera.refresh_from_db()
    assert camera.is_calibrated and camera.reprojection_error_m is not None
    assert "reprojection error" in cal.content.decode()
    too_few = client.post(
        url,
        {
            "action": "calibration",
            "calibration-image_points": json.dumps(image[:3]),
            "calibration-world_points": json.dumps(world[:3]),
        },
    )
    assert too_few.status_code == 400 and b"errorlist" in too_few.content
    zone = Zone.objects.get(camera=camera)
    assert client.post(url, {"action": "delete_zone", "id": zone.pk}).status_code == 302
    assert not Zone.objects.filter(pk=zone.pk).exists()


def test_camera_view_shows_live_figures(client_as, users, camera):
    from cameras.live import clear_live_state, store_metrics

    store_metrics(
        camera.pk,
        {
            "camera_id": camera.pk,
            "count": 37,
            "density": 2.5,
            "level_of_service": "D",
            "density_level": "CAUTION",
            "risk_level": "WARNING",
            "risk_score": 0.55,
            "zones": [],
            "lines": [],
        },
    )
    try:
        page = client_as(users["viewer"]).get(reverse("camera_detail", args=[camera.pk])).content.decode()
        dash = client_as(users["viewer"]).get(reverse("dashboard")).content.decode()
    finally:
        clear_live_state(camera.pk)
    assert f'id="cam-{camera.pk}-count">37<' in page
    assert "LOS D" in page and "risk-warning" in page
    assert f"/api/cameras/{camera.pk}/stream/" in page
    assert 'id="total-people">37<' in dash and 'id="total-risk">WARNING<' in dash


@pytest.mark.parametrize(
    "header,status", [("", 200), ("bytes=0-9", 206), ("bytes=-5", 206), ("bytes=999999999-", 416)]
)
def test_recording_playback_supports_ranges(client_as, users, camera, media, header, status):
    from django.utils import timezone

    from cameras.models import Recording

    folder = media / "recordings" / str(camera.pk)
    folder.mkdir(parents=True)
    (folder / "a.mp4").write_bytes(bytes(range(256)) * 4)
    rec = Recording.objects.create(
        camera=camera, file=f"recordings/{camera.pk}/a.mp4", started_at=timezone.now()
    )
    extra = {"HTTP_RANGE": header} if header else {}
    response = client_as(users["operator"]).get(reverse("recording_file", args=[rec.pk]), **extra)
    assert response.status_code == status
    body = b"".join(response.streaming_content) if status in (200, 206) else b""
    if header == "bytes=0-9":
        assert body == bytes(range(10)) and response["Content-Range"] == "bytes 0-9/1024"
    if header == "bytes=-5":
        assert body == bytes(range(251, 256))
    if not header:
        assert len(body) == 1024
    listing = client_as(users["operator"]).get(reverse("recordings") + f"?play={rec.pk}")
    assert listing.status_code == 200 and b"<video" in listing.content


def test_behind_nginx_recordings_are_sent_by_nginx_after_the_role_check(
    client_as, users, camera, media, settings, api_as
):
    from django.core import checks
    from django.utils import timezone

    from cameras.models import Recording

    folder = media / "recordings" / str(camera.pk)
    folder.mkdir(parents=True)
    (folder / "gate 1.mp4").write_bytes(b"MP4" * 100)
    rec = Recording.objects.create(
        camera=camera, file=f"recordings/{camera.pk}/gate 1.mp4", started_at=timezone.now()
    )
    # Without the prefix (DEBUG off) the check warns that Django serves the files.
    assert "core.W001" in [m.id for m in checks.run_checks(tags=[checks.Tags.security])]
    settings.CROWDSAFE_MEDIA_ACCEL_PREFIX = "/protected-media/"
    assert "core.W001" not in [m.id for m in checks.run_checks(tags=[checks.Tags.security])]
    url = reverse("recording_file", args=[rec.pk])
    assert client_as(users["viewer"]).get(url).status_code == 403  # the role is still Django's
    response = client_as(users["operator"]).get(url, HTTP_RANGE="bytes=0-9")
    assert response.status_code == 200 and response.content == b""  # nginx answers the range
    assert response["X-Accel-Redirect"] == f"/protected-media/recordings/{camera.pk}/gate%201.mp4"
    assert response["Content-Type"] == "video/mp4"
    download = api_as(users["operator"]).get(f"/api/recordings/{rec.pk}/download/")
    assert download.status_code == 200 and download["X-Accel-Redirect"].endswith("/gate%201.mp4")
    assert download["Content-Disposition"] == 'attachment; filename="gate_1.mp4"'
    # A link out of MEDIA_ROOT is never handed to nginx (nor a crafted path: Django refuses it).
    (folder / "link.mp4").symlink_to("/etc/hostname")
    Recording.objects.filter(pk=rec.pk).update(file=f"recordings/{camera.pk}/link.mp4")
    assert client_as(users["operator"]).get(url).status_code == 404
    Recording.objects.filter(pk=rec.pk).update(file="../../etc/passwd")
    assert client_as(users["operator"]).get(url).status_code == 400


def test_operator_uploads_on_the_camera_page_and_viewer_is_refused(client_as, users, media, vtest_avi):
    camera = Camera.objects.create(name="Upload target", source_type="file")
    detail = client_as(users["viewer"]).get(reverse("camera_detail", args=[camera.pk])).content.decode()
    assert "Upload a video" not in detail
    video = SimpleUploadedFile("clip.avi", vtest_avi.read_bytes(), content_type="video/x-msvideo")
    refused = client_as(users["viewer"]).post(reverse("camera_upload", args=[camera.pk]), {"video": video})
    assert refused.status_code == 403
    camera.refresh_from_db()
    assert camera.source == ""

    operator = client_as(users["operator"])
    assert "Upload a video" in operator.get(reverse("camera_detail", args=[camera.pk])).content.decode()
    video = SimpleUploadedFile("clip.avi", vtest_avi.read_bytes(), content_type="video/x-msvideo")
    response = operator.post(reverse("camera_upload", args=[camera.pk]), {"video": video})
    assert response.status_code in (204, 302), response.content.decode()[:500]
    camera.refresh_from_db()
    assert camera.source_type == "file" and (media / "uploads" / camera.source).is_file()


def test_operator_tests_a_saved_cameras_connection(client_as, users):
    port = free_port()  # nothing listens there
    camera = Camera.objects.create(
        name="Closed port", source_type="rtsp", source=f"rtsp://cam:s3cret-pw@127.0.0.1:{port}/x"
    )
    url = reverse("camera_test", args=[camera.pk])
    operator = client_as(users["operator"])
    assert url in operator.get(reverse("camera_detail", args=[camera.pk])).content.decode()
    response = operator.post(url)
    body = response.content.decode()
    assert response.status_code == 200 and "result-fail" in body and "s3cret" not in body
    assert operator.get(url).status_code == 405


def test_viewer_may_not_test_a_saved_camera(client_as, users, camera):
    viewer = client_as(users["viewer"])
    url = reverse("camera_test", args=[camera.pk])
    assert url not in viewer.get(reverse("camera_detail", args=[camera.pk])).content.decode()
    assert viewer.post(url).status_code == 403
