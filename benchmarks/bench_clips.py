"""Event clips: what the clip sink costs the frame path and memory, and its encoder's speed.

On vtest.avi's annotated-size frames (768x576): ms per frame of `alerts.clips.shrink` (the one
thing the frame path does: downscale to 640 wide and JPEG-encode), the bytes a pre-roll of
CROWDSAFE_EVENT_CLIP_PRE_S at 10 fps holds, and ms per frame of the encoder thread's work
(JPEG decode + H.264 write through the recordings' writer). Writes
benchmarks/results/clips.json. Run: .venv/bin/python benchmarks/bench_clips.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crowdsafe.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from alerts.clips import shrink  # noqa: E402
from analytics.engine import open_video_writer  # noqa: E402

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
FPS = 10


def main() -> None:
    cap = cv2.VideoCapture(str(VTEST))
    frames = []
    while len(frames) < 300:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    shrink_ms, jpegs = [], []
    for frame in frames:
        started = time.perf_counter()
        jpegs.append(shrink(frame))
        shrink_ms.append((time.perf_counter() - started) * 1000)
    pre = int(settings.CROWDSAFE_EVENT_CLIP_PRE_S * FPS) + 1
    ring_bytes = sum(len(j) for j in jpegs[:pre])
    with tempfile.TemporaryDirectory() as folder:
        h, w = cv2.imdecode(np.frombuffer(jpegs[0], np.uint8), cv2.IMREAD_COLOR).shape[:2]
        writer, path, codec = open_video_writer(Path(folder) / "clip", FPS, (w, h))
        started = time.perf_counter()
        for jpeg in jpegs:
            writer.write(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))
        writer.release()
        encode_ms = (time.perf_counter() - started) * 1000 / len(jpegs)
        clip_kb_per_s = path.stat().st_size / 1024 / (len(jpegs) / FPS)
    result = {
        "frames": len(frames),
        "frame_size": [frames[0].shape[1], frames[0].shape[0]],
        "clip_size": [w, h],
        "codec": codec,
        "shrink_ms_median": round(statistics.median(shrink_ms), 2),
        "shrink_ms_p95": round(sorted(shrink_ms)[int(len(shrink_ms) * 0.95)], 2),
        "jpeg_kb_mean": round(statistics.mean(len(j) for j in jpegs) / 1024, 1),
        "pre_roll_frames": pre,
        "pre_roll_mb": round(ring_bytes / 1024 / 1024, 2),
        "encoder_ms_per_frame": round(encode_ms, 2),
        "clip_kb_per_video_s": round(clip_kb_per_s, 1),
    }
    out = REPO / "benchmarks" / "results" / "clips.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    for key, value in result.items():
        print(f"{key:24} {value}")


if __name__ == "__main__":
    main()
