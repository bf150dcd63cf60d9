"""Checks that an uploaded file is a real video; run in a child process (`python -m cameras.probe
PATH`) so a hostile or broken file is decoded outside the web server, within a time limit.

No Django here: the child starts in about half a second. It prints one JSON object:
{"ok": true, "width": .., "height": .., "fps": .., "frames": .., "duration_s": .., "container": ..}
or {"ok": false, "error": "<message for the user>"}.
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction

MIN_SIDE = 64
MIN_SECONDS = 1.0
MIN_FRAMES = 5
MAX_DECODED = 600  # frames decoded at most to measure a file without a stated duration
# FFmpeg demuxer names of the video containers CrowdSafe accepts (GIF, images, audio are not).
KNOWN_CONTAINERS = frozenset(
    {"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "avi", "matroska", "webm", "mpegts", "mpeg", "flv",
     "asf", "h264", "hevc", "m4v", "ogg", "mjpeg"}
)


class NotAVideo(Exception):
    """The message says what is wrong, for the person who uploaded the file."""


def _seconds(value, time_base) -> float | None:
    return float(value * time_base) if value is not None and time_base else None


def probe(path: str) -> dict:
    import av  # in the child process that runs the probe only (PyAV and its codecs)

    try:
        container = av.open(path, metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise NotAVideo("This file is not a video CrowdSafe can read.") from exc
    with container:
        names = set(container.format.name.split(","))
        if not names & KNOWN_CONTAINERS:
            raise NotAVideo(
                f"This file is not a video container CrowdSafe knows ({container.format.name}); "
                "use MP4, MOV, AVI, MKV, WebM, MPEG-TS or FLV."
            )
        if not container.streams.video:
            raise NotAVideo("This file is not a video: it has no video stream.")
        stream = container.streams.video[0]
        stated = container.duration / 1_000_000 if container.duration else None
        stated = stated or _seconds(stream.duration, stream.time_base)
        frames, first_t, last_t, width, height = 0, None, None, 0, 0
        try:
            for frame in container.decode(stream):
                frames += 1
                width, height = frame.width, frame.height
                t = frame.time
                if t is not None:
                    first_t = t if first_t is None else first_t
                    last_t = t
                if frames >= MAX_DECODED or (frames >= MIN_FRAMES and stated and stated >= MIN_SECONDS):
                    break
        except av.FFmpegError as exc:
            if frames == 0:
                raise NotAVideo("This file is not a video CrowdSafe can read (it does not decode).") from exc
        if frames == 0:
            raise NotAVideo("This file is not a video CrowdSafe can read (no frame decodes).")
        rate = stream.average_rate or stream.guessed_rate or Fraction(0)
        fps = float(rate) if 0 < float(rate) < 1000 else 0.0
        decoded_span = (last_t - first_t) + (1 / fps if fps else 0) if first_t is not None else 0.0
        duration = max(stated or 0.0, decoded_span)
        container_name = container.format.name
        count = stream.frames or frames
    if width < MIN_SIDE or height < MIN_SIDE:
        raise NotAVideo(f"The video is {width}x{height}; it must be at least {MIN_SIDE}x{MIN_SIDE} pixels.")
    if frames < MIN_FRAMES or duration < MIN_SECONDS:
        raise NotAVideo(
            f"The video is too short ({duration:.2f} s, {frames} frame{'s' if frames != 1 else ''} read); "
            f"it must last at least {MIN_SECONDS:g} s with at least {MIN_FRAMES} frames."
        )
    _opencv_reads(path)
    return {"width": width, "height": height, "fps": fps, "frames": count, "duration_s": round(duration, 3),
            "container": container_name}


def _opencv_reads(path: str) -> None:
    """The runner reads with OpenCV: it must decode a frame too."""
    import cv2  # in the probe's child process only

    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    try:
        ok, frame = cap.read() if cap.isOpened() else (False, None)
    finally:
        cap.release()
    if not ok or frame is None:
        raise NotAVideo("This file is not a video OpenCV can read.")


def main(argv: list[str]) -> int:
    try:
        result = {"ok": True, **probe(argv[1])}
    except NotAVideo as exc:
        result = {"ok": False, "error": str(exc)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
