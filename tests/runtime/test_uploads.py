"""Uploads: content checked by opening it, size limit, unique names, never a recording."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cameras import services
from cameras.models import Camera, Recording, RecordingKind, SourceType
from cameras.recordings import delete_recording, purge_old_recordings

pytestmark = pytest.mark.django_db


@pytest.fixture
def camera():
    return services.create_camera(name="Upload cam", area_m2=30)


def _files_of(camera, settings) -> list:
    """Files stored for this camera, and any partial upload left behind."""
    return [p for p in settings.UPLOAD_DIR.iterdir() if p.name.startswith((f"{camera.pk}_", ".incoming"))]


def _upload(path, name=None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="video/x-msvideo")


def test_a_video_becomes_the_camera_source_under_a_unique_name(camera, clip4, settings):
    services.save_upload(camera, _upload(clip4, "my clip.avi"))
    first = camera.source
    assert camera.source_type == SourceType.FILE and first.endswith("_my_clip.avi")
    assert (settings.UPLOAD_DIR / first).read_bytes() == clip4.read_bytes()
    other = services.create_camera(name="Second", area_m2=30)
    services.save_upload(other, _upload(clip4, "my clip.avi"))  # same name: no overwrite
    assert other.source != first and (settings.UPLOAD_DIR / first).exists()
    services.save_upload(camera, _upload(clip4, "again.avi"))  # replaced: the old file goes
    assert not (settings.UPLOAD_DIR / first).exists()
    assert not Recording.objects.exists()  # an upload is not a recording


def test_a_non_video_is_rejected_whatever_its_name(camera, settings):
    fake = SimpleUploadedFile("evil.mp4", b"\x00\x00\x00\x18ftypmp42" + b"not a video" * 500)
    with pytest.raises(ValidationError) as exc:
        services.save_upload(camera, fake)
    assert "not a video" in exc.value.message_dict["video"][0]
    camera.refresh_from_db()
    assert camera.source == "" and _files_of(camera, settings) == []


def test_an_oversized_upload_is_rejected_and_nothing_kept(camera, clip4, settings):
    settings.CROWDSAFE_MAX_UPLOAD_MB = 0  # everything is too big
    with pytest.raises(ValidationError) as exc:
        services.save_upload(camera, _upload(clip4))
    assert "larger than" in exc.value.message_dict["video"][0]
    assert _files_of(camera, settings) == []


def test_an_empty_upload_is_rejected(camera):
    with pytest.raises(ValidationError):
        services.save_upload(camera, SimpleUploadedFile("x.mp4", b""))


def test_deleting_recordings_never_deletes_the_source(camera, clip4, settings):
    services.save_upload(camera, _upload(clip4))
    source = settings.UPLOAD_DIR / camera.source
    # Even a row that points at the upload (as the original product made them) spares it.
    row = Recording.objects.create(
        camera=camera, kind=RecordingKind.UPLOAD, file=f"uploads/{camera.source}",
        started_at=timezone.now() - timezone.timedelta(days=30),
    )
    delete_recording(row)
    assert source.exists() and not Recording.objects.exists()
    analysed = settings.RECORDINGS_DIR / str(camera.pk) / "old.webm"
    analysed.parent.mkdir(parents=True, exist_ok=True)
    analysed.write_bytes(b"x" * 2000)
    old_days = settings.CROWDSAFE_RECORDINGS_RETENTION_DAYS + 1
    Recording.objects.create(
        camera=camera, file=f"recordings/{camera.pk}/old.webm",
        started_at=timezone.now() - timezone.timedelta(days=old_days),
    )
    new = f"recordings/{camera.pk}/new.webm"
    Recording.objects.create(camera=camera, file=new, started_at=timezone.now())
    assert purge_old_recordings() == 1
    assert not analysed.exists() and source.exists()
    assert list(Recording.objects.values_list("file", flat=True)) == [new]


def test_camera_services_validate_and_save_nothing_on_bad_input(camera):
    with pytest.raises(ValidationError) as exc:
        services.create_camera(name="Bad", source_type="rtsp", source="http://x/y", target_fps=0)
    assert {"source", "target_fps"} <= exc.value.message_dict.keys()
    with pytest.raises(ValidationError) as exc:
        services.update_camera(camera, status="running")
    assert "status" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.update_camera(camera, source_type="file", source="/etc/passwd")
    camera.refresh_from_db()
    assert camera.source == "" and Camera.objects.count() == 1
    with pytest.raises(ValidationError):
        services.start_camera(camera)  # no source yet


def test_calibration_is_fitted_or_rejected(camera):
    img = [[0.1, 0.9], [0.9, 0.9], [0.8, 0.3], [0.2, 0.3]]
    world = [[0, 0], [10, 0], [10, 20], [0, 20]]
    services.set_calibration(camera, img, world)
    camera.refresh_from_db()
    assert camera.is_calibrated and camera.reprojection_error_m < 0.01
    with pytest.raises(ValidationError):
        services.set_calibration(camera, img[:3], world[:3])
    with pytest.raises(ValidationError):
        services.set_calibration(camera, [[0.1, 0.1]] * 4, world)  # degenerate
    services.set_calibration(camera, [], [])
    camera.refresh_from_db()
    assert not camera.is_calibrated
