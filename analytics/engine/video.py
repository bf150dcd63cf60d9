"""Video writing with the most browser-playable codec this OpenCV build can really write."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

# (fourcc, extension, name): H.264 first, then WebM (VP8 encodes faster than VP9 on a CPU),
# MPEG-4 Part 2 last (plays in VLC but not inline in browsers).
CODEC_PREFERENCE: tuple[tuple[str, str, str], ...] = (
    ("avc1", ".mp4", "h264"),
    ("VP80", ".webm", "vp8"),
    ("VP90", ".webm", "vp9"),
    ("mp4v", ".mp4", "mp4v"),
)
BROWSER_PLAYABLE = {"h264", "vp8", "vp9"}

_probe_cache: dict[str, bool] = {}


def _codec_works(fourcc: str, ext: str) -> bool:
    """Write a few frames and read them back: isOpened() alone can lie."""
    if fourcc in _probe_cache:
        return _probe_cache[fourcc]
    ok = False
    fd, path = tempfile.mkstemp(suffix=ext, prefix="crowdsafe-codec-")
    os.close(fd)
    try:
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), 10.0, (64, 48))
        if writer.isOpened():
            for i in range(3):
                writer.write(np.full((48, 64, 3), 60 * i, np.uint8))
            writer.release()
            cap = cv2.VideoCapture(path)
            frames = 0
            while frames < 3 and cap.read()[0]:
                frames += 1
            cap.release()
            ok = frames >= 2
        else:
            writer.release()
    except cv2.error:
        ok = False
    finally:
        Path(path).unlink(missing_ok=True)
    _probe_cache[fourcc] = ok
    return ok


def pick_codec() -> tuple[str, str, str]:
    """The first working (fourcc, extension, name) of ``CODEC_PREFERENCE``."""
    for fourcc, ext, name in CODEC_PREFERENCE:
        if _codec_works(fourcc, ext):
            return fourcc, ext, name
    raise RuntimeError("OpenCV cannot write video with any of H.264, VP8, VP9 or MPEG-4")


def open_video_writer(
    path_without_extension: str | Path, fps: float, size: tuple[int, int]
) -> tuple[cv2.VideoWriter, Path, str]:
    """Open a writer with the best working codec.

    Returns ``(writer, final_path, codec_name)``; the extension (.mp4 / .webm) follows the
    codec, so callers pass the path without one (an extension given is replaced).
    """
    base = Path(path_without_extension)
    if base.suffix.lower() in {".mp4", ".webm", ".avi", ".mkv"}:
        base = base.with_suffix("")
    fourcc, ext, name = pick_codec()
    final = base.with_name(base.name + ext)
    final.parent.mkdir(parents=True, exist_ok=True)
    fps = float(fps) if fps and fps > 0 else 15.0
    writer = cv2.VideoWriter(str(final), cv2.VideoWriter_fourcc(*fourcc), fps, tuple(size))
    if not writer.isOpened():
        raise RuntimeError(f"cannot open video writer for {final} ({name})")
    if name not in BROWSER_PLAYABLE:
        log.warning("Writing %s with %s: browsers may not play it inline", final, name)
    return writer, final, name
