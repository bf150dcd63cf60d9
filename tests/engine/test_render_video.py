"""Rendering overlays, the video writer and the offline analysis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from analytics.engine import (
    CrowdEngine,
    EngineConfig,
    LineSpec,
    RenderOptions,
    ZoneSpec,
    open_video_writer,
)
from analytics.engine.offline import VideoSourceError, analyze_video

from .conftest import FRAME, REPO, calibrated_geometry, run_scene

ALL_OFF = RenderOptions(
    heatmap=False,
    boxes=False,
    labels=False,
    trails=False,
    flow=False,
    clusters=False,
    proximity=False,
    zones=False,
    lines=False,
    hud=False,
    sparklines=False,
)


@pytest.fixture(scope="module")
def scene():
    """A moving crowd with clusters, close pairs, a zone and a line, in a grey frame."""
    zone = ZoneSpec(id=1, name="Z", polygon=[(0.55, 0.55), (0.95, 0.55), (0.95, 0.95), (0.55, 0.95)])
    line = LineSpec(id=1, name="L", p1=(0.05, 0.9), p2=(0.45, 0.9))
    eng = CrowdEngine(None, EngineConfig(), calibrated_geometry(zones=[zone], lines=[line]))
    rng = np.random.default_rng(2)
    start = np.vstack([rng.uniform(6, 9, (12, 2)), rng.uniform(12, 18, (8, 2))])
    results = run_scene(eng, lambda t: start + [0.8 * t, 0.3 * t], np.arange(1, 21), 2.0)
    frame = np.full((FRAME[1], FRAME[0], 3), 90, np.uint8)
    return eng, frame, results[-1]


def only(**on) -> RenderOptions:
    return replace(ALL_OFF, **on)


def diff_mask(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.any(a != b, axis=2)


def test_render_returns_new_array_and_leaves_input_alone(scene):
    eng, frame, r = scene
    before = frame.copy()
    out = eng.render(frame, r)
    assert out is not frame and out.shape == frame.shape and out.dtype == np.uint8
    assert np.array_equal(frame, before)
    assert np.array_equal(eng.render(frame, r, ALL_OFF), frame)


@pytest.mark.parametrize(
    "option",
    ["boxes", "trails", "flow", "clusters", "proximity", "zones", "lines", "hud", "heatmap"],
)
def test_each_overlay_draws_where_it_should(scene, option):
    eng, frame, r = scene
    base = eng.render(frame, r, ALL_OFF)
    out = eng.render(frame, r, only(**{option: True}))
    changed = diff_mask(base, out)
    assert changed.sum() > 50, option
    ys, xs = np.nonzero(changed)
    rd = r.render_data
    if option == "boxes":
        b = rd.boxes
        inside = (xs >= b[:, 0].min() - 3) & (xs <= b[:, 2].max() + 3)
        assert inside.all()
    if option in ("clusters", "trails", "flow", "proximity"):
        # Drawn around the people's feet, not elsewhere.
        fx, fy = rd.feet[:, 0], rd.feet[:, 1]
        assert xs.min() >= fx.min() - 80 and xs.max() <= fx.max() + 80
        assert ys.min() >= fy.min() - 80 and ys.max() <= fy.max() + 80
    if option == "zones":
        assert changed[550:950, 548:553].any() and not changed[:400, :400].any()
    if option == "lines":
        assert changed[898:903, 60:440].sum() > 300
    if option == "hud":
        assert changed[:60, :300].any() and changed[:60, -200:].any()


def test_heatmap_is_per_call_and_does_not_touch_the_result(scene):
    eng, frame, r = scene
    before = json.dumps(r.to_dict())
    plain = eng.render(frame, r)
    heat = eng.render(frame, r, RenderOptions(heatmap=True))
    again = eng.render(frame, r)
    assert not np.array_equal(plain, heat)
    assert np.array_equal(plain, again)
    assert json.dumps(r.to_dict()) == before


def test_render_without_people_and_at_other_resolution():
    eng = CrowdEngine(None, EngineConfig(), calibrated_geometry())
    r = eng.analyse([], 0.0, FRAME)
    small = np.zeros((360, 640, 3), np.uint8)
    out = eng.render(small, r, RenderOptions(heatmap=True))
    assert out.shape == small.shape and out.any()  # HUD only


def test_sparklines_draw_history(scene):
    eng, frame, r = scene
    with_spark = eng.render(frame, r, only(hud=True, sparklines=True))
    without = eng.render(frame, r, only(hud=True))
    assert diff_mask(with_spark, without).sum() > 100
    assert len(r.render_data.risk_history) > 2


def test_open_video_writer_writes_a_readable_browser_video(tmp_path):
    writer, path, codec = open_video_writer(tmp_path / "clip.mp4", 10, (160, 120))
    for i in range(10):
        writer.write(np.full((120, 160, 3), i * 20, np.uint8))
    writer.release()
    assert codec in ("h264", "vp8", "vp9", "mp4v")
    assert path.suffix == (".webm" if codec in ("vp8", "vp9") else ".mp4")
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n >= 9


def test_analyze_video_end_to_end(detector, vtest_path, tmp_path):
    summary = analyze_video(
        vtest_path,
        detector=detector,
        max_frames=25,
        out_video=tmp_path / "annotated.mp4",
        out_json=tmp_path / "summary.json",
        progress=False,
    )
    assert summary["frames"] == 25 and summary["processed_fps"] > 0
    assert 0 <= summary["count"]["min"] <= summary["count"]["mean"] <= summary["count"]["max"] <= 40
    assert summary["unique_tracks"] >= 1
    assert summary["peak_level"] in ("SAFE", "CAUTION", "WARNING", "CRITICAL")
    assert len(summary["risk_timeline"]) == 3  # one point per second of a 2.5 s clip
    assert json.loads((tmp_path / "summary.json").read_text())["frames"] == 25
    video = Path(summary["video"])
    assert video.exists() and video.stat().st_size > 10_000
    cap = cv2.VideoCapture(str(video))
    assert cap.read()[0]


def test_analyze_video_bad_inputs(detector, tmp_path):
    with pytest.raises(VideoSourceError, match="not found"):
        analyze_video(tmp_path / "missing.mp4", detector=detector, progress=False)
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    with pytest.raises(VideoSourceError):
        analyze_video(bad, detector=detector, progress=False)


def _manage(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.setdefault("DEBUG", "true")
    env.setdefault("CROWDSAFE_ENV_FILE", "/nonexistent")
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "analyze_video", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_analyze_video_command(model_path, vtest_path, tmp_path):
    out = tmp_path / "cmd.mp4"
    js = tmp_path / "cmd.json"
    proc = _manage(
        str(vtest_path),
        "--model",
        str(model_path),
        "--max-frames",
        "12",
        "--out",
        str(out),
        "--json",
        str(js),
        "--area",
        "120",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(js.read_text())
    assert summary["frames"] == 12 and Path(summary["video"]).exists()
    assert "Annotated video" in proc.stdout
    assert summary["tiling_mode"] == "auto"  # the default
    series = summary["frames_series"]
    assert [f["frame"] for f in series] == list(range(12))
    assert series[1]["t"] == pytest.approx(1 / summary["source_fps"], abs=1e-3)  # the video's clock
    assert all(f["count_quality"] in ("ok", "degraded", "unreliable") for f in series)
    assert all(f["tiling"] == "off" or "x" in f["tiling"] for f in series)
    assert not any(f["mirrored"] for f in series if f["tiling"] == "off")
    assert sum(summary["quality_frames"].values()) == 12
    # Tiling on every frame, and an input size the fixed 640 export cannot honour.
    tiled = tmp_path / "tiled.json"
    proc = _manage(
        str(vtest_path), "--model", str(model_path), "--max-frames", "3", "--json", str(tiled),
        "--tiling", "on", "--imgsz", "960", "--no-progress",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(tiled.read_text())
    assert summary["tiling_mode"] == "on" and summary["imgsz"] == 640
    assert "960" in summary["imgsz_note"] and "960" in proc.stderr
    grids = [f["tiling"] for f in summary["frames_series"]]
    assert grids[0] == "3x2" and all("x" in g for g in grids), grids  # 384 px tiles at first
    assert summary["tile_mirror"] and all(f["mirrored"] for f in summary["frames_series"])
    for flag, value in (("--tiling", "sometimes"), ("--imgsz", "100")):
        bad = _manage(str(vtest_path), "--model", str(model_path), flag, value)
        assert bad.returncode != 0 and "Traceback" not in bad.stderr and flag in bad.stderr
    bad = _manage(str(tmp_path / "nope.avi"), "--model", str(model_path))
    assert bad.returncode != 0
    assert "not found" in bad.stderr and "Traceback" not in bad.stderr
    missing_model = _manage(str(vtest_path), "--model", str(tmp_path / "none.pt"))
    assert missing_model.returncode != 0 and "Traceback" not in missing_model.stderr
    assert "none.pt" in missing_model.stderr
