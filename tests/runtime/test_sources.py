"""Source validation, masking and the connection test."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from cameras import sources
from cameras.models import SourceType
from tests.runtime.helpers import MjpegServer
from tests.support import free_port


@pytest.mark.parametrize(
    ("source_type", "source"),
    [
        (SourceType.RTSP, "http://cam.local/stream"),
        (SourceType.RTSP, "file:///etc/passwd"),
        (SourceType.HTTP, "rtsp://cam.local/stream"),
        (SourceType.HTTP, "ftp://cam.local/video.mp4"),
        (SourceType.HTTP, "concat:/etc/passwd"),
        (SourceType.HTTP, "http:///no-host"),
        (SourceType.HTTP, "http://cam.local:99999/x"),
        (SourceType.RTSP, "rtsp://cam.local/a b"),
        (SourceType.USB, "/dev/video0"),
        (SourceType.USB, "64"),
        (SourceType.RTSP, ""),
    ],
)
def test_bad_sources_are_rejected_with_a_message(source_type, source):
    with pytest.raises(ValidationError) as exc:
        sources.validate_source(source_type, source)
    assert exc.value.message_dict["source"][0]


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../../etc/passwd", "../uploads-other/x.mp4", "/tmp", "", "."]
)
def test_file_sources_outside_the_upload_folder_are_rejected(path):
    with pytest.raises(ValidationError) as exc:
        sources.validate_source(SourceType.FILE, path)
    assert "source" in exc.value.message_dict


def test_symlink_out_of_the_upload_folder_is_rejected(settings, tmp_path):
    (settings.UPLOAD_DIR / "escape.mp4").symlink_to("/etc/passwd")
    with pytest.raises(ValidationError):
        sources.validate_source(SourceType.FILE, "escape.mp4")


def test_good_sources_are_normalised(settings):
    (settings.UPLOAD_DIR / "clip.avi").write_bytes(b"x")
    assert sources.validate_source(SourceType.FILE, str(settings.UPLOAD_DIR / "clip.avi")) == "clip.avi"
    assert sources.validate_source(SourceType.USB, "02") == "2"
    url = "rtsps://admin:secret@10.0.0.5:8554/stream1"
    assert sources.validate_source(SourceType.RTSP, url) == url
    assert sources.resolve_source(SourceType.USB, "1") == sources.ResolvedSource("usb", 1, True)
    assert sources.resolve_source(SourceType.FILE, "clip.avi").is_live is False


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("rtsp://admin:s3cret@10.0.0.5:554/live", "rtsp://admin:***@10.0.0.5:554/live"),
        ("https://token@cams.example.com/a.m3u8?x=1", "https://***@cams.example.com/a.m3u8?x=1"),
        ("http://cam.local/video.mjpg", "http://cam.local/video.mjpg"),
        ("0", "0"),
        (
            "http://10.0.0.7/cgi?user=admin&pwd=s3cret&channel=2&token=t0k&api_key=k&sig=z",
            "http://10.0.0.7/cgi?user=***&pwd=***&channel=2&token=***&api_key=***&sig=***",
        ),
        ("rtsp://u:s3cret@h/live?password=s3cret&subtype=0", "rtsp://u:***@h/live?password=***&subtype=0"),
    ],
)
def test_credentials_are_masked(url, shown):
    assert sources.mask_source(url) == shown
    assert "s3cret" not in sources.describe_source("rtsp", url)


def test_connection_to_a_working_stream(clip4):
    server = MjpegServer(clip4)
    try:
        result = sources.test_connection(SourceType.HTTP, server.url, timeout_s=5)
    finally:
        server.close()
    assert result.ok and (result.width, result.height) == (768, 576)


def test_connection_failures_say_why_within_the_time_limit():
    import time

    started = time.monotonic()
    refused = sources.test_connection(SourceType.RTSP, f"rtsp://127.0.0.1:{free_port()}/x", timeout_s=3)
    assert not refused.ok and "open" in refused.message
    assert time.monotonic() - started < 6
    bad = sources.test_connection(SourceType.HTTP, "file:///etc/passwd")
    assert not bad.ok and "http://" in bad.message
