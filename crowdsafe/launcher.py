"""`make run`: CrowdSafe on one machine, with embedded defaults (SQLite, a private Redis).

Downloads models/yolo11s.pt when it is absent and the machine is online (else falls back to
the shared test detector), migrates, creates the admin (printing a generated password once),
starts the ASGI web server, a Celery worker per queue and beat, registers a demo camera on a
sample video (Debian's vtest.avi, fetched without root when opencv-doc is not installed) and
starts it, then waits. Ctrl-C stops every process.

Environment: the usual settings (see .env.example) plus CROWDSAFE_PORT (default 8000) and
CROWDSAFE_DEMO_VIDEO (a video for the demo camera; "none" skips the demo).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from crowdsafe.devtools import ensure_redis
from crowdsafe.fetch import (
    DEMO_COMMAND,
    SYSTEM_DEMO_VIDEO,
    WEIGHTS_PATH,
    FetchError,
    fetch_demo_video,
    fetch_weights,
)

ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = ROOT / ".env"
SHARED_MODEL = ROOT.parent / "shared" / "models" / "yolo11n_int8_openvino_model"


def _write_env_file() -> None:
    """First run: a .env with a random secret, so nothing secret is ever a default."""
    if ENV_FILE.exists():
        return
    ENV_FILE.write_text(
        "# Written by `make run` for local use. See .env.example for every setting.\n"
        "DEBUG=true\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
    )
    ENV_FILE.chmod(0o600)
    print(f"Wrote {ENV_FILE.name} with a new random SECRET_KEY.")


def _detector_env(weights: Path = WEIGHTS_PATH, fallback: Path = SHARED_MODEL) -> dict[str, str]:
    """yolo11s.pt, downloaded (`make weights`) when absent and the machine is online; offline,
    the shared test detector, with one line that says why."""
    if os.environ.get("CROWDSAFE_DETECTOR_MODEL"):
        return {}
    if weights.exists():
        return {}
    try:
        fetch_weights(dest=weights)
        return {}
    except FetchError as exc:
        reason = str(exc)
    if not fallback.exists():
        print(f"{weights.name} could not be downloaded ({reason}); the detector will not load.")
        return {}
    print(f"{weights.name} is absent and could not be downloaded ({reason}): using {fallback}")
    return {"CROWDSAFE_DETECTOR_MODEL": str(fallback), "CROWDSAFE_DETECTOR_IMGSZ": "640"}


def _manage(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=check)


def main() -> int:
    _write_env_file()
    redis_url, _redis = ensure_redis()
    port = int(os.environ.get("CROWDSAFE_PORT", "8000"))
    env = {**os.environ, "REDIS_URL": redis_url, **_detector_env()}
    env.setdefault("DEBUG", "true")
    env.setdefault("CROWDSAFE_PACE_FILES", "true")  # the demo video plays like a live camera

    _manage(env, "migrate", "--no-input", "-v", "0")
    _manage(env, "collectstatic", "--no-input", "-v", "0")
    _manage(env, "create_admin", "--username", "admin", "--generate-password", "--if-missing")

    # Each worker gets a unique node name: a second `make run` on the same machine and
    # Redis would otherwise clash.
    node = f"{os.getpid()}@%h"
    commands = {
        "web": [sys.executable, "-m", "uvicorn", "crowdsafe.asgi:application", "--host", "127.0.0.1",
                "--port", str(port), "--lifespan", "off"],
        "streams": [sys.executable, "-m", "crowdsafe.streams_worker",
                    "-c", "2", "-n", f"streams-{node}", "--loglevel", "INFO"],
        "default": [sys.executable, "-m", "celery", "-A", "crowdsafe", "worker", "-Q", "default",
                    "-c", "2", "-n", f"default-{node}", "--loglevel", "INFO"],
        "beat": [sys.executable, "-m", "celery", "-A", "crowdsafe", "beat", "--loglevel", "INFO",
                 "-s", str(ROOT / "var" / "celerybeat-schedule")],
    }
    procs = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in commands.items()}

    def stop(*_args) -> None:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _demo_camera(env)
        print(f"\nCrowdSafe is running at http://127.0.0.1:{port}/  (Ctrl-C stops everything)\n")
        while all(proc.poll() is None for proc in procs.values()):
            time.sleep(1)
        failed = [name for name, proc in procs.items() if proc.poll() is not None]
        print(f"Stopping: {', '.join(failed)} exited.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping CrowdSafe…")
        return 0
    finally:
        stop()


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt


def demo_video() -> str | None:
    """CROWDSAFE_DEMO_VIDEO, else Debian's vtest.avi: installed, fetched before, or fetched now
    without root. None (with one line saying how to get it) when there is none."""
    video = os.environ.get("CROWDSAFE_DEMO_VIDEO", "")
    if video.lower() == "none":
        return None
    if video:
        if Path(video).exists():
            return video
        print(f"No demo camera: CROWDSAFE_DEMO_VIDEO={video} does not exist.")
        return None
    if SYSTEM_DEMO_VIDEO.exists():
        return str(SYSTEM_DEMO_VIDEO)
    try:
        return str(fetch_demo_video())
    except (FetchError, OSError, subprocess.SubprocessError) as exc:
        print(f"No demo camera ({exc}). To add one without root: {DEMO_COMMAND}")
        return None


def _demo_camera(env: dict[str, str]) -> None:
    video = demo_video()
    if video is None:
        return
    result = _manage(env, "add_demo_camera", "--video", video, "--start", check=False)
    if result.returncode != 0:
        print("The demo camera could not be set up (see above); CrowdSafe runs without it.")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as exc:
        sys.exit(f"Start-up step failed: {' '.join(map(str, exc.cmd))}")

