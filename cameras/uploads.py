"""Video uploads and imports: the only way a file becomes a camera source.

The content is checked by decoding it in a child process (`cameras.probe`; the extension
proves nothing); the file gets a unique name in the upload folder (never overwriting);
then it becomes the camera's file source. The previous uploaded source is removed when no
camera uses it any more. An upload is not a recording: deleting recordings never touches it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.text import get_valid_filename

from accounts.roles import Role, has_role
from cameras.models import Camera, SourceType
from cameras.sources import resolve_upload_path, upload_dir

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}
CHUNK = 1024 * 1024
NOT_A_VIDEO = "This file is not a video CrowdSafe can read."


def max_upload_bytes() -> int:
    return settings.CROWDSAFE_MAX_UPLOAD_MB * 1024 * 1024


def _too_big() -> ValidationError:
    return ValidationError({"video": [f"The video is larger than {settings.CROWDSAFE_MAX_UPLOAD_MB} MB."]})


def probe_video(path: Path) -> dict:
    """Check in a child process (`cameras.probe`) that the file is a real video: a known
    container, at least 64x64, at least 1 s and a few frames. ValidationError otherwise.

    The decoding happens outside the web process and within CROWDSAFE_UPLOAD_PROBE_TIMEOUT_S,
    so a hostile file can neither crash nor hang the server.
    """
    timeout = settings.CROWDSAFE_UPLOAD_PROBE_TIMEOUT_S
    try:
        done = subprocess.run(
            [sys.executable, "-m", "cameras.probe", str(path)],
            cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ValidationError({"video": [f"The video could not be checked within {timeout} s."]}) from exc
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        log.warning("Video probe of %s failed (exit %s): %s", path.name, done.returncode, done.stderr[-500:])
        result = {"ok": False, "error": NOT_A_VIDEO}
    if not result.pop("ok", False):
        raise ValidationError({"video": [result.get("error") or NOT_A_VIDEO]})
    return result


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


LIVE_SOURCE_ADMIN_ONLY = "This camera has a live source; only an admin may replace it with a video."


def may_replace_source(camera: Camera, user) -> bool:
    """Operators analyse footage on file cameras; a live source (RTSP, HTTP, USB) is the admins'."""
    if camera.source_type == SourceType.FILE or not camera.source:
        return True
    return has_role(user, Role.ADMIN)


def save_upload(camera: Camera, uploaded_file, *, user=None) -> Camera:
    """Store an uploaded video (Django UploadedFile) as the camera's file source."""
    if user is not None and not may_replace_source(camera, user):
        raise PermissionDenied(LIVE_SOURCE_ADMIN_ONLY)
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

