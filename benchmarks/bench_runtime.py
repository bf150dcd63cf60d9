"""Camera runtime benchmark: the per-camera Celery task against the engine alone.

1. Engine alone on a clip of vtest.avi: `CrowdEngine.process` (and process + render), frames
   read in order, nothing else.
2. One file camera through the real task in a real Celery worker (prefork, 1 process):
   rendering, JPEG to Redis, live pushes, metric rows, the recording. Overhead = how much
   lower its processed-frames rate is than the engine alone (target: at most 10 %).
3. Four file cameras at once in one worker with 4 processes: aggregate and per-camera fps,
   resident memory of each worker process.

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/cs_bench_runtime,
created and migrated here) and Redis index (BENCH_REDIS_URL, default redis://127.0.0.1:6379/13).
Prints the figures and writes benchmarks/results/runtime.json.

    python benchmarks/bench_runtime.py [--seconds 15] [--cameras 4]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cs_bench_runtime")
os.environ["DATABASE_URL"] = DB_URL
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.pop("CELERY_BROKER_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crowdsafe.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
MEDIA = Path(tempfile.mkdtemp(prefix="crowdsafe-bench-runtime-"))
os.environ["MEDIA_ROOT"] = str(MEDIA)
for candidate in (REPO / "models" / "yolo11n_int8_openvino_model",
                  REPO.parent / "shared" / "models" / "yolo11n_int8_openvino_model"):
    if candidate.exists() and "CROWDSAFE_DETECTOR_MODEL" not in os.environ:
        os.environ["CROWDSAFE_DETECTOR_MODEL"] = str(candidate)
        os.environ.setdefault("CROWDSAFE_DETECTOR_IMGSZ", "640")

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
WORKER_LOG = open(MEDIA / "worker.log", "ab")  # noqa: SIM115 - lives as long as the script


def ensure_database() -> None:
    """Create the benchmark database if needed (PostgreSQL), then migrate it."""
    if DB_URL.startswith("postgres"):
        import psycopg

        base, name = DB_URL.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, check=True)


def best_of(runs: list[dict]) -> dict:
    """The fastest run: on a shared machine, other work only ever slows a run down."""
    return max(runs, key=lambda r: r["fps"]) | {"runs_fps": [r["fps"] for r in runs]}


def engine_alone(clip: Path, repeats: int) -> dict:
    import cv2

    from analytics.engine import CrowdEngine
    from cameras.runtime.engine_setup import engine_config, shared_detector

    detector = shared_detector()
    warm = CrowdEngine(detector, engine_config())
    cap = cv2.VideoCapture(str(clip))
    for i in range(10):  # first inferences are slow (allocation, caches): not measured
        warm.render(cap.read()[1], warm.process(cap.read()[1], i / 10))
    cap.release()
    runs: dict[str, list[dict]] = {"process": [], "process_render": []}
    for label, render in (("process", False), ("process_render", True)) * repeats:
        engine = CrowdEngine(detector, engine_config())
        cap = cv2.VideoCapture(str(clip))
        fps = cap.get(cv2.CAP_PROP_FPS) or 10
        frames, started = 0, time.perf_counter()
        while True:
            ok, image = cap.read()
            if not ok:
                break
            result = engine.process(image, frames / fps)
            if render:
                engine.render(image, result)
            frames += 1
        elapsed = time.perf_counter() - started
        fps = round(frames / elapsed, 2)
        runs[label].append({"frames": frames, "seconds": round(elapsed, 2), "fps": fps})
    return {label: best_of(r) for label, r in runs.items()}


def start_worker(concurrency: int, env: dict | None = None) -> subprocess.Popen:
    from cameras.tasks import ready_key
    from core.redis import get_redis

    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crowdsafe", "worker", "-Q", "streams", "-P", "prefork",
         "-c", str(concurrency), "-n", f"bench-{os.getpid()}@%h", "--without-heartbeat", "--without-gossip",
         "--without-mingle", "-l", "WARNING"],
        cwd=REPO, stdout=WORKER_LOG, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    deadline = time.time() + 120
    while not get_redis().exists(ready_key(proc.pid)):
        if proc.poll() is not None or time.time() > deadline:
            raise SystemExit(f"the Celery worker did not start; see {MEDIA / 'worker.log'}")
        time.sleep(0.2)
    return proc


def stop_worker(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker_memory(proc: subprocess.Popen) -> dict:
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    return {"main_mb": round(rss_mb(proc.pid), 1),
            "pool_processes_mb": [round(rss_mb(int(c)), 1) for c in children]}


def through_the_task(clip: Path, cameras: int, repeats: int = 1, env: dict | None = None) -> dict:
    from cameras import services
    from cameras.models import Camera
    from cameras.uploads import import_video_file

    proc = start_worker(cameras, env)
    try:
        # Warm every pool process (model loaded once per process) with a one-second clip.
        warm = MEDIA / "warm.avi"
        if not warm.exists():
            cut(VTEST, warm, 1.0)
        made = []
        for i in range(cameras):
            cam = services.create_camera(name=f"bench-warm-{cameras}-{i}-{time.time_ns()}", target_fps=10)
            import_video_file(cam, warm)
            made.append(cam)
        for cam in made:
            services.start_camera(cam)
        wait_all(made, 300)
        memory_idle = worker_memory(proc)
        runs = [run_cameras(clip, cameras, proc) for _ in range(repeats)]
        best = max(runs, key=lambda r: r["aggregate_fps"])
        return best | {"memory_idle": memory_idle, "runs_aggregate_fps": [r["aggregate_fps"] for r in runs]}
    finally:
        stop_worker(proc)
        Camera.objects.filter(name__startswith="bench-").delete()


def run_cameras(clip: Path, cameras: int, proc: subprocess.Popen) -> dict:
    from analytics.models import Metric
    from cameras import services
    from cameras.models import CameraStatus, Recording
    from cameras.uploads import import_video_file

    cams = []
    for i in range(cameras):
        name = f"bench-{cameras}-{i}-{time.time_ns()}"
        cam = services.create_camera(name=name, area_m2=60, target_fps=10)
        import_video_file(cam, clip)
        cams.append(cam)
    started = time.perf_counter()
    for cam in cams:
        services.start_camera(cam)
    peak = wait_all(cams, 900, proc)
    wall = time.perf_counter() - started
    per_camera = []
    for cam in cams:
        cam.refresh_from_db()
        found = re.search(r"(\d+) frames analysed in ([\d.]+) s \(([\d.]+) fps\)", cam.status_detail)
        assert cam.status == CameraStatus.FINISHED and found, cam.status_detail
        per_camera.append({
            "frames": int(found.group(1)),
            "seconds": float(found.group(2)),
            "fps": float(found.group(3)),
            "metric_rows": Metric.objects.filter(camera=cam, zone=None).count(),
            "recording_frames": sum(
                Recording.objects.filter(camera=cam).values_list("frames", flat=True)
            ),
        })
    frames = sum(c["frames"] for c in per_camera)
    return {
        "cameras": cameras,
        "per_camera": per_camera,
        "aggregate_fps": round(frames / wall, 2),
        "wall_seconds": round(wall, 2),
        "memory_peak": peak,
    }


def wait_all(cams, timeout_s: float, proc=None) -> dict | None:
    from cameras.models import Camera, CameraStatus

    deadline = time.time() + timeout_s
    peak = None
    while time.time() < deadline:
        states = list(Camera.objects.filter(pk__in=[c.pk for c in cams]).values_list("status", flat=True))
        if proc is not None:
            mem = worker_memory(proc)
            if peak is None or sum(mem["pool_processes_mb"]) > sum(peak["pool_processes_mb"]):
                peak = mem
        if all(s in (CameraStatus.FINISHED, CameraStatus.ERROR) for s in states):
            return peak
        time.sleep(0.5)
    raise SystemExit("cameras did not finish in time")


def cut(src: Path, dest: Path, seconds: float) -> Path:
    import cv2

    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 10
    writer = None
    for _ in range(round(fps * seconds)):
        ok, frame = cap.read()
        if not ok:
            break
        if writer is None:
            writer = cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*"MJPG"), fps, frame.shape[1::-1])
        writer.write(frame)
    cap.release()
    writer.release()
    return dest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0, help="clip length (video seconds)")
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3, help="runs of the 1-camera comparison (best kept)")
    args = parser.parse_args()
    if not VTEST.exists():
        raise SystemExit(f"{VTEST} is missing (apt install opencv-doc)")
    ensure_database()
    import django

    django.setup()
    from cameras.runtime.engine_setup import detector_config

    clip = cut(VTEST, MEDIA / "clip.avi", args.seconds)
    alone = engine_alone(clip, args.repeats)
    one = through_the_task(clip, 1, args.repeats)
    unrecorded = through_the_task(clip, 1, args.repeats, {"CROWDSAFE_RECORDINGS_ENABLED": "false"})
    many = through_the_task(clip, args.cameras)
    task_fps = one["per_camera"][0]["fps"]
    bare_fps = unrecorded["per_camera"][0]["fps"]

    def overhead(fps: float, base: str) -> float:
        return round((1 - fps / alone[base]["fps"]) * 100, 1)

    report = {
        "machine": {"cpus": os.cpu_count(), "model": detector_config().model, "clip_seconds": args.seconds},
        "engine_alone": alone,
        "one_camera_task": one,
        "one_camera_task_without_recording": unrecorded,
        "overhead_pct": {
            "task_vs_process": overhead(task_fps, "process"),
            "task_vs_process_render": overhead(task_fps, "process_render"),
            "task_without_recording_vs_process": overhead(bare_fps, "process"),
            "task_without_recording_vs_process_render": overhead(bare_fps, "process_render"),
        },
        "many_cameras_task": many,
    }
    out = REPO / "benchmarks" / "results" / "runtime.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"engine alone: {alone['process']['fps']} fps (process), "
          f"{alone['process_render']['fps']} fps (process + render)")
    o = report["overhead_pct"]
    print(f"one camera through the task: {task_fps} fps with recording, {bare_fps} fps without")
    print(f"overhead vs process / process + render: with recording {o['task_vs_process']} % / "
          f"{o['task_vs_process_render']} %, without {o['task_without_recording_vs_process']} % / "
          f"{o['task_without_recording_vs_process_render']} %")
    print(f"{args.cameras} cameras: aggregate {many['aggregate_fps']} fps, per camera "
          f"{[c['fps'] for c in many['per_camera']]}, pool processes (MB) "
          f"{many['memory_peak']['pool_processes_mb'] if many['memory_peak'] else '?'}")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
