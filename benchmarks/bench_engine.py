"""Vision engine benchmark: ms per frame for each stage. Prints a table and writes
benchmarks/results/engine.json. Run with `make bench`
(or .venv/bin/python benchmarks/bench_engine.py).

Targets (2-core CPU): analytics+risk ≤ 5 ms at 100 people and ≤ 25 ms at 1000; rendering
≤ 15 ms at 1280x720 with 100 people; everything but detection+tracking ≤ 25 % of the
detection+tracking time on vtest.avi.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analytics.engine import (  # noqa: E402
    CameraGeometry,
    CrowdEngine,
    DetectorConfig,
    EngineConfig,
    LineSpec,
    RenderOptions,
    ZoneSpec,
    load_detector,
)

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
MODEL_DIR = "yolo11n_int8_openvino_model"


def find_model() -> Path | None:
    for env in ("CROWDSAFE_BENCH_MODEL", "CROWDSAFE_TEST_MODEL"):
        if os.environ.get(env):
            return Path(os.environ[env])
    for cand in (REPO / "models" / MODEL_DIR, REPO.parent / "shared" / "models" / MODEL_DIR):
        if cand.exists():
            return cand
    return None


def med(values: list[float]) -> float:
    return round(statistics.median(values), 3) if values else float("nan")


def geometry() -> CameraGeometry:
    return CameraGeometry(
        area_m2=600.0,
        zones=[ZoneSpec(1, "left", [(0, 0), (0.5, 0), (0.5, 1), (0, 1)])],
        lines=[LineSpec(1, "mid", (0.5, 0.0), (0.5, 1.0))],
    )


def bench_vtest(model: Path, frames: int) -> dict:
    det = load_detector(DetectorConfig(model=str(model), device="cpu", imgsz=640))
    engine = CrowdEngine(det, EngineConfig(), geometry())
    cap = cv2.VideoCapture(str(VTEST))
    fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
    dt, an, rd, counts = [], [], [], []
    for i in range(frames + 5):
        ok, frame = cap.read()
        if not ok:
            break
        r = engine.process(frame, i / fps)
        t = time.perf_counter()
        engine.render(frame, r)
        render_ms = (time.perf_counter() - t) * 1e3
        if i >= 5:  # skip warm-up
            dt.append(r.timings_ms["detect_track"])
            an.append(r.timings_ms["analytics"])
            rd.append(render_ms)
            counts.append(r.count)
    cap.release()
    d, a, re = med(dt), med(an), med(rd)
    return {
        "frames": len(dt),
        "frame_size": [int(frame.shape[1]), int(frame.shape[0])],
        "model": str(model),
        "backend": det.backend,
        "mean_count": round(float(np.mean(counts)), 2),
        "detect_track_ms": d,
        "analytics_risk_ms": a,
        "render_ms": re,
        "non_detection_share": round((a + re) / d, 3) if d else None,
    }


def synthetic_boxes(
    n: int, rng: np.random.Generator, size=(1280, 720)
) -> tuple[np.ndarray, np.ndarray]:
    w, h = size
    start = np.stack([rng.uniform(20, w - 20, n), rng.uniform(80, h - 5, n)], axis=1)
    ang = rng.uniform(0, 2 * np.pi, n)
    vel = np.stack([np.cos(ang), np.sin(ang)], axis=1) * rng.uniform(5, 40, (n, 1))  # px/s
    return start, vel


def boxes_from_feet(feet: np.ndarray) -> np.ndarray:
    return np.stack([feet[:, 0] - 12, feet[:, 1] - 60, feet[:, 0] + 12, feet[:, 1]], axis=1)


def bench_synthetic(n: int, frames: int = 60) -> dict:
    rng = np.random.default_rng(n)
    start, vel = synthetic_boxes(n, rng)
    engine = CrowdEngine(None, EngineConfig(), geometry())
    ids = np.arange(1, n + 1)
    times = []
    for k in range(frames + 10):
        t = k / 10
        feet = start + vel * t + rng.normal(0, 0.7, start.shape)
        tic = time.perf_counter()
        engine.analyse((boxes_from_feet(feet), ids, None), t, (1280, 720))
        if k >= 10:  # skip warm-up (first DBSCAN/hull calls)
            times.append((time.perf_counter() - tic) * 1e3)
    return {
        "people": n,
        "analytics_risk_ms": med(times),
        "p90_ms": round(float(np.percentile(times, 90)), 3),
    }


def bench_render(n: int = 100, frames: int = 40) -> dict:
    rng = np.random.default_rng(5)
    start, vel = synthetic_boxes(n, rng)
    engine = CrowdEngine(None, EngineConfig(), geometry())
    ids = np.arange(1, n + 1)
    frame = (rng.integers(0, 255, (720, 1280, 3))).astype(np.uint8)
    frame = cv2.GaussianBlur(frame, (0, 0), 3)
    plain, heat = [], []
    for k in range(frames + 20):
        t = k / 10
        r = engine.analyse((boxes_from_feet(start + vel * t), ids, None), t, (1280, 720))
        if k < 20:  # let trails and sparklines fill up
            continue
        tic = time.perf_counter()
        engine.render(frame, r)
        plain.append((time.perf_counter() - tic) * 1e3)
        tic = time.perf_counter()
        engine.render(frame, r, RenderOptions(heatmap=True))
        heat.append((time.perf_counter() - tic) * 1e3)
    return {
        "people": n,
        "frame_size": [1280, 720],
        "render_ms": med(plain),
        "render_heatmap_ms": med(heat),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=100, help="vtest.avi frames to time")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "engine.json"))
    args = parser.parse_args()

    results: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "opencv": cv2.__version__,
        },
        "targets": {
            "analytics_100_ms": 5.0,
            "analytics_1000_ms": 25.0,
            "render_1280x720_100_ms": 15.0,
            "non_detection_share": 0.25,
        },
    }
    model = find_model()
    if model is None or not VTEST.exists():
        print(f"skipping vtest benchmark: model={model} video exists={VTEST.exists()}")
        results["vtest"] = None
    else:
        results["vtest"] = bench_vtest(model, args.frames)
    results["synthetic"] = [bench_synthetic(n) for n in (10, 100, 500, 1000)]
    results["render"] = bench_render()

    v = results["vtest"]
    if v:
        print(
            f"vtest.avi {v['frame_size'][0]}x{v['frame_size'][1]}, {v['frames']} frames, "
            f"{v['backend']} ({v['mean_count']} people/frame on average)"
        )
        print(f"  detection+tracking   {v['detect_track_ms']:8.2f} ms/frame")
        print(f"  analytics+risk       {v['analytics_risk_ms']:8.2f} ms/frame")
        print(f"  rendering            {v['render_ms']:8.2f} ms/frame")
        print(f"  non-detection share  {v['non_detection_share'] * 100:7.1f} %  (target ≤ 25 %)")
    print("analytics+risk on synthetic scenes (1280x720):")
    for s in results["synthetic"]:
        print(
            f"  {s['people']:5d} people   {s['analytics_risk_ms']:8.2f} ms/frame "
            f"(p90 {s['p90_ms']:.2f})"
        )
    r = results["render"]
    print(
        f"rendering 1280x720, {r['people']} people: {r['render_ms']:.2f} ms "
        f"(with heatmap {r['render_heatmap_ms']:.2f} ms)"
    )
    syn = {s["people"]: s["analytics_risk_ms"] for s in results["synthetic"]}
    checks = {
        "analytics_100": syn[100] <= 5.0,
        "analytics_1000": syn[1000] <= 25.0,
        "render_100": r["render_ms"] <= 15.0,
        "non_detection_share": bool(v and v["non_detection_share"] <= 0.25),
    }
    results["targets_met"] = checks
    print("targets met:", ", ".join(f"{k}={'yes' if ok else 'NO'}" for k, ok in checks.items()))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
