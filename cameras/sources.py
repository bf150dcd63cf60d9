"""Video sources: validation, masking for display, opening with time limits, test connection.

A camera's source is one of: an RTSP URL, an HTTP(S) URL (MJPEG, HLS or a video file), a
USB device index, or a file *inside the upload folder* (stored relative to it). Nothing
else reaches `cv2.VideoCapture`, so no user can make the server open an arbitrary path or
protocol (file://, concat:, pipes...).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError

from cameras.capture import ChildCapture, open_video
from cameras.models import SourceType

ALLOWED_SCHEMES: dict[str, tuple[str, ...]] = {
    SourceType.RTSP: ("rtsp", "rtsps"),
    SourceType.HTTP: ("http", "https"),
}
MAX_USB_INDEX = 63
LIVE_TYPES = frozenset({SourceType.RTSP, SourceType.HTTP, SourceType.USB})
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f\s]")


@dataclass(frozen=True)
class ResolvedSource:
    """What the runner opens: `target` goes to cv2.VideoCapture as is."""

    source_type: str
    target: str | int
    is_live: bool


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    message: str
    width: int = 0
    height: int = 0
    fps: float = 0.0
    frame: np.ndarray | None = field(default=None, repr=False, compare=False)  # the frame read


def upload_dir() -> Path:
    return Path(settings.UPLOAD_DIR)


def _error(message: str) -> ValidationError:
    return ValidationError({"source": [message]})


def _check_url(source_type: str, source: str) -> str:
    if _CONTROL_CHARS.search(source):
        raise _error("The URL must not contain spaces or control characters.")
    parts = urlsplit(source)
    allowed = ALLOWED_SCHEMES[source_type]
    if parts.scheme.lower() not in allowed:
        raise _error(f"Use a {' or '.join(s + '://' for s in allowed)} URL for this source type.")
    if not parts.hostname:
        raise _error("The URL has no host name.")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise _error("The URL has an invalid port.") from exc
    return source


def resolve_upload_path(source: str) -> Path:
    """The absolute path of a file source; ValidationError unless it lies in the upload folder."""
    if not source or "\x00" in source:
        raise _error("Choose an uploaded video file.")
    root = upload_dir().resolve()
    candidate = Path(source)
    path = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if path == root or not path.is_relative_to(root):
        raise _error("File sources must be videos uploaded to CrowdSafe (inside the upload folder).")
    return path


def validate_source(source_type: str, source: str) -> str:
    """Check a source and return its normalised form (file sources: relative to the upload folder).

    Raises ValidationError({"source": ...}). Existence of a file is checked too.
    """
    source = (source or "").strip()
    if source_type not in SourceType.values:
        raise ValidationError({"source_type": [f"Unknown source type {source_type!r}."]})
    if not source:
        raise _error("A video source is required.")
    if source_type in ALLOWED_SCHEMES:
        return _check_url(source_type, source)
    if source_type == SourceType.USB:
        if not (source.isascii() and source.isdigit()) or len(source) > 3 or int(source) > MAX_USB_INDEX:
            raise _error(f"A USB camera is a device index from 0 to {MAX_USB_INDEX}.")
        return str(int(source))
    path = resolve_upload_path(source)
    if not path.is_file():
        raise _error("The video file no longer exists; upload it again.")
    return str(path.relative_to(upload_dir().resolve()))


def resolve_source(source_type: str, source: str) -> ResolvedSource:
    """Validate and turn a stored source into what OpenCV opens."""
    normalised = validate_source(source_type, source)
    if source_type == SourceType.USB:
        return ResolvedSource(source_type, int(normalised), True)
    if source_type == SourceType.FILE:
        return ResolvedSource(source_type, str(resolve_upload_path(normalised)), False)
    return ResolvedSource(source_type, normalised, True)


# Query parameters that carry credentials in camera URLs (`?user=admin&pwd=…`, `?token=…`,
# `?api_key=…`, `?sig=…`): their values are never shown.
_SECRET_PARAM = re.compile(r"pass|pwd|token|key|secret|auth|sig|user|login|cred|session|account", re.I)


def _mask_query(query: str) -> str:
    parts = []
    for item in query.split("&"):
        name, eq, _value = item.partition("=")
        parts.append(f"{name}=***" if eq and _SECRET_PARAM.search(name) else item)
    return "&".join(parts)


def mask_source(source: str) -> str:
    """Hide credentials of a URL: rtsp://user:***@host/path?user=***&pwd=***."""
    if not source or "://" not in source:
        return source
    try:
        parts = urlsplit(source)
    except ValueError:
        return re.sub(r"//[^/@]*@", "//***@", source.split("?", 1)[0]) + ("?***" if "?" in source else "")
    netloc = parts.netloc
    if parts.username is not None or parts.password is not None:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        user = parts.username or ""
        credentials = f"{user}:***" if parts.password is not None else "***"
        netloc = f"{credentials}@{host}"
    query = _mask_query(parts.query) if parts.query else ""
    if netloc == parts.netloc and query == parts.query:
        return source
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def describe_source(source_type: str, source: str) -> str:
    """A safe one-line label for pages and APIs (masked URL, file base name)."""
    if source_type == SourceType.FILE:
        return Path(source).name
    if source_type == SourceType.USB:
        return f"USB device {source}"
    return mask_source(source)


def open_capture(resolved: ResolvedSource, timeout_s: float = 8.0, *, isolated: bool = False):
    """Open a source with FFmpeg's open/read time limits (a dead host never blocks for minutes);
    `isolated`: decoded in a child process (see cameras/capture.py)."""
    if isolated:
        return ChildCapture(resolved.target, timeout_s)
    return open_video(resolved.target, timeout_s)


def _probe(resolved: ResolvedSource, timeout_s: float) -> ConnectionResult:
    cap = open_capture(resolved, timeout_s)
    try:
        if not cap.isOpened():
            return ConnectionResult(False, "Cannot open the source (unreachable, refused or not video).")
        ok, frame = cap.read()
        if not ok or frame is None:
            return ConnectionResult(False, "The source opened but sent no video frame.")
        h, w = frame.shape[:2]
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        fps = fps if 0 < fps < 1000 else 0.0
        rate = f" at {fps:.1f} fps" if fps else ""
        return ConnectionResult(True, f"Connected: {w}x{h}{rate}", w, h, fps, frame)
    finally:
        cap.release()


def test_connection(source_type: str, source: str, *, timeout_s: float = 8) -> ConnectionResult:
    """Open the source and read one frame within `timeout_s`; never raises."""
    try:
        resolved = resolve_source(source_type, source)
    except ValidationError as exc:
        return ConnectionResult(False, " ".join(exc.messages))
    box: list[ConnectionResult] = []

    def attempt() -> None:
        try:
            box.append(_probe(resolved, timeout_s))
        except Exception as exc:  # OpenCV raises on some malformed inputs
            box.append(ConnectionResult(False, f"Error while opening the source: {exc}"))

    # OpenCV's own limits are honoured by FFmpeg only; the thread bounds every backend.
    worker = threading.Thread(target=attempt, daemon=True, name="cam-test-connection")
    worker.start()
    worker.join(timeout_s + 2.0)
    if not box:
        return ConnectionResult(False, f"No answer from the source within {timeout_s:g} s.")
    return box[0]


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported
