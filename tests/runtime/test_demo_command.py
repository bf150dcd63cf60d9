"""The add_demo_camera command (used by `make run`)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from cameras.models import Camera, SourceType

pytestmark = pytest.mark.django_db


def test_demo_camera_is_created_once_and_reused(clip4, settings):
    call_command("add_demo_camera", "--video", str(clip4), "--name", "Demo")
    camera = Camera.objects.get(name="Demo")
    assert camera.source_type == SourceType.FILE and (settings.UPLOAD_DIR / camera.source).is_file()
    call_command("add_demo_camera", "--video", str(clip4), "--name", "Demo")
    assert Camera.objects.get(name="Demo").source == camera.source  # no second copy


def test_demo_camera_errors_are_clear(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("add_demo_camera", "--video", str(tmp_path / "missing.avi"))
    text = tmp_path / "notes.avi"
    text.write_text("hello")
    with pytest.raises(CommandError, match="not a video"):
        call_command("add_demo_camera", "--video", str(text), "--name", "Bad demo")
