"""Offline analysis of a video file: annotated video + JSON summary (core of the
``analyze_video`` management command, usable without Django)."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .config import CameraGeometry, DetectorConfig, EngineConfig
from .detector import Detector, get_detector
from .engine import CrowdEngine
from .render import RenderOptions
from .results import QUALITY_LEVELS, RISK_LEVELS
from .video import open_video_writer

log = logging.getLogger(__name__)


class VideoSourceError(RuntimeError):
    """The input video is missing or cannot be decoded."""


def open_video(path: str | Path) -> tuple[cv2.VideoCapture, float, int, tuple[int, int]]:
    """Open a video file; returns (capture, fps, frame_count or 0, (w, h))."""
    p = Path(path)
    if not p.exists():
        raise VideoSourceError(f"Video file not found: {p}")
    if not p.is_file():
        raise VideoSourceError(f"Not a file: {p}")
    cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        raise VideoSourceError(f"Cannot open {p} as a video (unknown or corrupt format)")
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = float(fps) if fps and np.isfinite(fps) and 0 < fps < 1000 else 25.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
    h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
    return cap, fps, max(total, 0), (w, h)


def analyze_video(
    path: str | Path,
    detector: Detector | None = None,
    detector_config: DetectorConfig | None = None,
    engine_config: EngineConfig | None = None,
    geometry: CameraGeometry | None = None,
    max_frames: int | None = None,
    out_video: str | Path | None = None,
    out_json: str | Path | None = None,
    render_options: RenderOptions | None = None,
    progress: bool = True,
    on_frame: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run the engine over a video file and return (and optionally write) a summary.

    Timestamps are frame_index / fps of the file (the source clock), never the wall clock.
    """
    cap, fps, total, _ = open_video(path)
    det = detector or get_detector(detector_config or DetectorConfig())
    engine = CrowdEngine(det, engine_config or EngineConfig(), geometry or CameraGeometry())
    limit = total if total > 0 else None
    if max_frames is not None and max_frames > 0:
        limit = min(limit, max_frames) if limit else max_frames

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=limit, unit="frame", desc=Path(path).name, leave=True)

    writer = None
    video_path: Path | None = None
    codec: str | None = None
    counts: list[int] = []
    risk_timeline: list[dict[str, Any]] = []
    levels: Counter[str] = Counter()
    track_ids: set[int] = set()
    peak = {"risk_score": -1.0, "risk_level": "SAFE", "timestamp": 0.0, "frame_index": 0}
    next_timeline_t = 0.0
    detect_ms: list[float] = []
    analytics_ms: list[float] = []
    series: list[dict[str, Any]] = []  # one entry per frame: count, quality, tiling
    quality_frames: Counter[str] = Counter()
    frames = 0
    started = time.perf_counter()
    try:
        while limit is None or frames < limit:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            t = frames / fps
            result = engine.process(frame, t)
            frames += 1
            counts.append(result.count)
            levels[result.risk_level] += 1
            track_ids.update(p.track_id for p in result.persons if p.track_id is not None)
            q = result.count_quality
            quality_frames[q.level] += 1
            series.append(
                {
                    "frame": frames - 1,
                    "t": round(t, 3),
                    "count": result.count,
                    "count_quality": q.level,
                    "quality_reasons": list(q.reasons),
                    "estimated_count": q.estimated_count,
                    "tiling": "x".join(map(str, result.tiling.grid)) if result.tiling.active else "off",
                    "mirrored": result.tiling.mirrored,
                    "ms": round(result.timings_ms.get("detect_track", 0.0), 1),
                }
            )
            detect_ms.append(result.timings_ms.get("detect_track", 0.0))
            analytics_ms.append(result.timings_ms.get("analytics", 0.0))
            if result.risk_score > peak["risk_score"]:
                peak = {
                    "risk_score": round(result.risk_score, 4),
                    "risk_level": result.risk_level,
                    "timestamp": round(t, 3),
                    "frame_index": result.frame_index,
                }
            if t >= next_timeline_t:  # one point per second of video keeps the JSON small
                risk_timeline.append(
                    {
                        "t": round(t, 2),
                        "count": result.count,
                        "density": round(result.density, 4),
                        "risk_score": round(result.risk_score, 4),
                        "risk_level": result.risk_level,
                    }
                )
                next_timeline_t += 1.0
            if out_video is not None:
                if writer is None:
                    h, w = frame.shape[:2]
                    writer, video_path, codec = open_video_writer(out_video, fps, (w, h))
                writer.write(engine.render(frame, result, render_options))
            if bar is not None:
                bar.update(1)
            if on_frame is not None:
                on_frame(frames)
    finally:
        cap.release()
        if writer is not None:
            writer.release()
        if bar is not None:
            bar.close()
    elapsed = time.perf_counter() - started
    if frames == 0:
        raise VideoSourceError(f"No frame could be decoded from {path}")

    arr = np.asarray(counts, dtype=float)
    summary: dict[str, Any] = {
        "source": str(path),
        "model": det.model_path,
        "backend": det.backend,
        "reid": engine.reid,
        "calibrated": engine.calibration is not None,
        "frames": frames,
        "source_fps": round(fps, 3),
        "duration_s": round(frames / fps, 3),
        "processing_s": round(elapsed, 3),
        "processed_fps": round(frames / elapsed, 3) if elapsed > 0 else None,
        "ms_per_frame": {
            "detect_track": round(float(np.mean(detect_ms)), 2),
            "analytics": round(float(np.mean(analytics_ms)), 2),
        },
        "count": {
            "min": int(arr.min()),
            "mean": round(float(arr.mean()), 3),
            "max": int(arr.max()),
        },
        "unique_tracks": len(track_ids),
        "tiling_mode": engine.config.tiling,
        "tile_mirror": engine.config.tile_mirror,
        "imgsz": det.effective_imgsz(engine.config.imgsz),
        "imgsz_note": det.imgsz_note(engine.config.imgsz),
        "quality_frames": {lvl: quality_frames.get(lvl, 0) for lvl in QUALITY_LEVELS},
        "frames_series": series,
        "peak": peak,
        "peak_level": max(levels, key=RISK_LEVELS.index),
        "level_frames": {lvl: levels.get(lvl, 0) for lvl in RISK_LEVELS},
        "risk_timeline": risk_timeline,
        "video": str(video_path) if video_path else None,
        "codec": codec,
    }
    if out_json is not None:
        jp = Path(out_json)
        jp.parent.mkdir(parents=True, exist_ok=True)
        jp.write_text(json.dumps(summary, indent=2))
    return summary
