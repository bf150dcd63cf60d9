"""Many cameras on one machine: N file cameras on one streams worker, two designs side by side.

- `per_process`: today's default, one worker process per camera (Celery prefork, `-c N`),
  each with its own torch, Ultralytics and model.
- `shared`: one worker process hosting the N cameras in threads
  (CROWDSAFE_CAMERAS_PER_PROCESS=N) against one detector that batches their frames; each
  camera's source decoded in a child process of its own (the default there: a decoder crash
  costs one camera, cameras/capture.py).
- `shared_inline` (on request): the same with decoding in the cameras' threads
  (CROWDSAFE_DECODE_ISOLATION=false), what the isolation costs.

For N in --cameras (default 1 2 4 8): aggregate and per-camera frames per second (frames
analysed / wall time from the first start to the last finish), p95 frame time (engine to the
last sink, as each runner reports it), peak resident memory of the worker's processes, and the
memory each camera past the first adds. Every camera runs the real `run_camera` task on a clip
of vtest.avi with metric rows, live frames and pushes; recordings are off (they cost the same
in both designs). Uses bench_runtime's database and Redis (BENCH_DATABASE_URL,
BENCH_REDIS_URL). Prints the figures and writes benchmarks/results/scale.json.

    python benchmarks/bench_scale.py [--cameras 1 2 4 8] [--seconds 10]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_runtime as rt  # noqa: E402 - sets the environment (database, Redis, model) first

REPO = rt.REPO


def start_worker(design: str, cameras: int) -> subprocess.Popen:
    from cameras.tasks import ready_key
    from core.redis import get_redis

    env = {**os.environ, "CROWDSAFE_RECORDINGS_ENABLED": "false",
           "CROWDSAFE_CAMERAS_PER_PROCESS": str(1 if design == "per_process" else cameras),
           "CROWDSAFE_DECODE_ISOLATION": str(design == "shared").lower()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "crowdsafe.streams_worker", "-c", str(cameras),
         "-n", f"scale-{os.getpid()}-{design}-{cameras}@%h", "--without-heartbeat", "--without-gossip",
         "--without-mingle", "-l", "WARNING"],
        cwd=REPO, stdout=rt.WORKER_LOG, stderr=subprocess.STDOUT, start_new_session=True, env=env,
    )
    deadline = time.time() + 180
    while not get_redis().exists(ready_key(proc.pid)):
        if proc.poll() is not None or time.time() > deadline:
            raise SystemExit(f"the worker did not start; see {rt.MEDIA / 'worker.log'}")
        time.sleep(0.2)
    return proc


def descendants(pid: int) -> list[int]:
    """A process and all its descendants, whichever of their threads started them."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(FileNotFoundError):  # the thread ended meanwhile
                todo.extend(map(int, children.read_text().split()))
    return found


def pss_mb(pid: int) -> float:
    """Proportional set size: shared pages (libraries every decoder maps) counted once in all."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def total_mb(proc: subprocess.Popen) -> tuple[float, float]:
    """Resident and proportional memory of the worker and all its descendants."""
    rss = pss = 0.0
    for pid in descendants(proc.pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # ended meanwhile
            rss, pss = rss + rt.rss_mb(pid), pss + pss_mb(pid)
    return rss, pss


def run(design: str, cameras: int, clip: Path, warm: Path) -> dict:
    from cameras import services
    from cameras.models import Camera, CameraStatus
    from cameras.uploads import import_video_file

    proc = start_worker(design, cameras)
    try:
        def start_all(video: Path, label: str) -> list[Camera]:
            made = []
            for i in range(cameras):
                cam = services.create_camera(name=f"bench-{label}-{design}-{i}-{time.time_ns()}",
                                             area_m2=60, target_fps=10)
                import_video_file(cam, video)
                made.append(cam)
            for cam in made:
                services.start_camera(cam)
            return made

        rt.wait_all(start_all(warm, "warm"), 600)  # every process has its model loaded
        idle_mb, _ = total_mb(proc)
        started = time.perf_counter()
        cams = start_all(clip, "run")
        peak_mb, peak_pss = idle_mb, 0.0
        deadline = time.time() + 1800
        while time.time() < deadline:
            rss, pss = total_mb(proc)
            peak_mb, peak_pss = max(peak_mb, rss), max(peak_pss, pss)
            states = Camera.objects.filter(pk__in=[c.pk for c in cams]).values_list("status", flat=True)
            if all(s in (CameraStatus.FINISHED, CameraStatus.ERROR) for s in states):
                break
            time.sleep(0.5)
        wall = time.perf_counter() - started
        per_camera = []
        for cam in cams:
            cam.refresh_from_db()
            found = re.search(r"(\d+) frames analysed in ([\d.]+) s \(([\d.]+) fps\), p95 (\d+) ms",
                              cam.status_detail)
            assert cam.status == CameraStatus.FINISHED and found, cam.status_detail
            per_camera.append({"frames": int(found.group(1)), "fps": float(found.group(3)),
                               "p95_ms": int(found.group(4))})
        frames = sum(c["frames"] for c in per_camera)
        return {
            "design": design,
            "cameras": cameras,
            "aggregate_fps": round(frames / wall, 2),
            "per_camera_fps": [c["fps"] for c in per_camera],
            "p95_frame_ms": max(c["p95_ms"] for c in per_camera),
            "rss_idle_mb": round(idle_mb),
            "rss_peak_mb": round(peak_mb),
            "pss_peak_mb": round(peak_pss),
            "wall_seconds": round(wall, 1),
        }
    finally:
        rt.stop_worker(proc)
        Camera.objects.filter(name__startswith="bench-").delete()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length (video seconds)")
    parser.add_argument("--designs", nargs="+", default=["per_process", "shared"])
    args = parser.parse_args()
    if not rt.VTEST.exists():
        raise SystemExit(f"{rt.VTEST} is missing (apt install opencv-doc)")
    rt.ensure_database()
    import django

    django.setup()
    clip = rt.cut(rt.VTEST, rt.MEDIA / "clip.avi", args.seconds)
    warm = rt.cut(rt.VTEST, rt.MEDIA / "warm.avi", 1.0)
    results = []
    for n in args.cameras:
        for design in args.designs:
            r = run(design, n, clip, warm)
            results.append(r)
            print(f"{design:12s} {n:3d} cameras: {r['aggregate_fps']:7.2f} fps in all, per camera "
                  f"{min(r['per_camera_fps']):.2f}-{max(r['per_camera_fps']):.2f}, p95 frame "
                  f"{r['p95_frame_ms']} ms, memory {r['rss_idle_mb']} MB idle / {r['rss_peak_mb']} MB peak "
                  f"(proportional {r['pss_peak_mb']} MB)",
                  flush=True)
    for design in args.designs:
        rows = [r for r in results if r["design"] == design]
        if len(rows) > 1:
            first, last = rows[0], rows[-1]
            extra = last["cameras"] - first["cameras"]
            rss = (last["rss_peak_mb"] - first["rss_peak_mb"]) / extra
            pss = (last["pss_peak_mb"] - first["pss_peak_mb"]) / extra
            print(f"{design}: each camera past the first adds {rss:.0f} MB resident, {pss:.0f} MB PSS")
    out = REPO / "benchmarks" / "results" / "scale.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": {"cpus": os.cpu_count(), "clip_seconds": args.seconds},
                               "runs": results}, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
