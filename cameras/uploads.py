"""Video uploads and imports: the only way a file becomes a camera source.

The content is checked by opening it with OpenCV and decoding a frame (the extension
proves nothing); the file gets a unique name in the upload folder (never overwriting);
then it becomes the camera's file source. The previous uploaded source is removed when no
camera uses it any more. An upload is not a recording: deleting recordings never touches it.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

import cv2
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.text import get_valid_filename

from cameras.models import Camera, SourceType
from cameras.sources import resolve_upload_path, upload_dir

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}
CHUNK = 1024 * 1024


def max_upload_bytes() -> int:
    return settings.CROWDSAFE_MAX_UPLOAD_MB * 1024 * 1024


def _too_big() -> ValidationError:
    return ValidationError({"video": [f"The video is larger than {settings.CROWDSAFE_MAX_UPLOAD_MB} MB."]})


def probe_video(path: Path) -> dict:
    """Open the file and decode one frame; ValidationError when it is not a readable video."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        ok, frame = cap.read() if cap.isOpened() else (False, None)
        if not ok or frame is None:
            raise ValidationError({"video": ["This file is not a video OpenCV can read."]})
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        return {
            "width": frame.shape[1],
            "height": frame.shape[0],
            "fps": fps if 0 < fps < 1000 else 0.0,
            "frames": int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0),
        }
    finally:
        cap.release()


def _stored_name(camera: Camera, original_name: str) -> str:
    base = Path(original_name or "video").name
    stem, ext = os.path.splitext(base)
    stem = get_valid_filename(stem)[:60] or "video"
    ext = ext.lower() if ext.lower() in VIDEO_EXTENSIONS else ".video"
    return f"{camera.pk}_{uuid.uuid4().hex[:10]}_{stem}{ext}"


def _store(camera: Camera, chunks: Iterable[bytes], original_name: str) -> Camera:
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".incoming-{uuid.uuid4().hex}.part"
    try:
        written = 0
        with open(partial, "xb") as out:
            for chunk in chunks:
                written += len(chunk)
                if written > max_upload_bytes():  # the declared size may lie
                    raise _too_big()
                out.write(chunk)
        if written == 0:
            raise ValidationError({"video": ["The file is empty."]})
        probe_video(partial)
        final = folder / _stored_name(camera, original_name)
        os.link(partial, final)  # fails instead of overwriting, should a name ever repeat
    finally:
        partial.unlink(missing_ok=True)
    previous = camera.source if camera.source_type == SourceType.FILE else ""
    camera.source_type, camera.source = SourceType.FILE, final.name
    camera.save(update_fields=["source_type", "source", "updated_at"])
    if previous and previous != final.name:
        remove_unused_upload(previous)
    return camera


def save_upload(camera: Camera, uploaded_file, *, user=None) -> Camera:
    """Store an uploaded video (Django UploadedFile) as the camera's file source."""
    if uploaded_file is None:
        raise ValidationError({"video": ["Choose a video file to upload."]})
    if uploaded_file.size is not None and uploaded_file.size > max_upload_bytes():
        raise _too_big()
    camera = _store(camera, uploaded_file.chunks(CHUNK), uploaded_file.name)
    log.info("Camera %s: video %s uploaded by %s", camera.pk, camera.source, user or "system")
    return camera


def import_video_file(camera: Camera, path: str | Path) -> Camera:
    """Copy a video already on this machine (e.g. the demo clip) into the upload folder."""
    src = Path(path)
    if not src.is_file():
        raise ValidationError({"video": [f"{src} does not exist or is not a file."]})
    if src.stat().st_size > max_upload_bytes():
        raise _too_big()

    def chunks():
        with open(src, "rb") as f:
            while block := f.read(CHUNK):
                yield block

    return _store(camera, chunks(), src.name)


def remove_unused_upload(source: str) -> None:
    """Delete an uploaded source file when no camera refers to it any more."""
    if Camera.objects.filter(source_type=SourceType.FILE, source=source).exists():
        return
    try:
        path = resolve_upload_path(source)
    except ValidationError:
        return
    path.unlink(missing_ok=True)

