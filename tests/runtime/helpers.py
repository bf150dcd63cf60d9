"""Helpers of the runtime tests: short clips, waiting for conditions, a worker process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
from django.conf import settings

REPO = Path(__file__).resolve().parents[2]

# Short timings for the worker the tests start (read by cameras.conf from the environment).
FAST_TIMINGS = {
    "CROWDSAFE_CAMERA_LEASE_TTL_S": "5",
    "CROWDSAFE_CAMERA_HEARTBEAT_S": "0.5",
    "CROWDSAFE_NO_FRAME_WATCHDOG_S": "5",
    "CROWDSAFE_SOURCE_OPEN_TIMEOUT_S": "3",
    "CROWDSAFE_RECONNECT_INITIAL_S": "0.5",
    "CROWDSAFE_RECONNECT_MAX_S": "4",
}


def cut_clip(src: Path, dest: Path, seconds: float, *, fourcc: str = "MJPG") -> Path:
    """The first `seconds` of `src` as a new file (MJPG .avi decodes fast)."""
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
    writer = None
    for _ in range(round(fps * seconds)):
        ok, frame = cap.read()
        if not ok:
            break
        if writer is None:
            h, w = frame.shape[:2]
            writer = cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
        writer.write(frame)
    cap.release()
    assert writer is not None, f"cannot read {src}"
    writer.release()
    return dest


def wait_for(condition: Callable[[], object], timeout_s: float, interval_s: float = 0.2, what: str = ""):
    """Poll until `condition()` is truthy; return its value, or fail with `what`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or condition}")
        time.sleep(interval_s)


def database_url() -> str:
    """The URL of the database the tests use right now (the test database)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


class Worker:
    """A real Celery worker process consuming the given queues with the test database."""

    def __init__(
        self,
        media_root: Path,
        *,
        queues: str = "streams,default",
        concurrency: int = 2,
        name: str = "rt",
        extra_env: dict | None = None,
    ) -> None:
        env = dict(os.environ)
        env.update(FAST_TIMINGS)
        env.update(
            DATABASE_URL=database_url(),
            REDIS_URL=settings.REDIS_URL,
            CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
            MEDIA_ROOT=str(media_root),
            PYTHONUNBUFFERED="1",
        )
        env.update(extra_env or {})
        self.log_path = Path(media_root) / f"worker-{name}-{time.time_ns()}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "crowdsafe",
                "worker",
                "-Q",
                queues,
                "-P",
                "prefork",
                "-c",
                str(concurrency),
                "-n",
                f"{name}-{os.getpid()}@%h",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "INFO",
            ],
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        from cameras.tasks import ready_key
        from crowdsafe.redis import get_redis

        try:
            wait_for(
                lambda: get_redis().exists(ready_key(self.proc.pid)) or self.proc.poll() is not None,
                90,
                what="the Celery worker to start",
            )
            assert self.proc.poll() is None, self.output()
        except BaseException:
            self.stop()
            raise

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def terminate(self, timeout_s: float = 30) -> int:
        """SIGTERM (warm shutdown) and wait."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        finally:
            self.stop()

    def stop(self) -> None:
        """Make sure the worker and its children are gone (used in every teardown)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        else:
            with contextlib.suppress(ProcessLookupError):  # orphaned pool children, if any
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


class MjpegServer:
    """A local HTTP MJPEG camera (multipart/x-mixed-replace) looping a video at its frame rate."""

    def __init__(self, video: Path, port: int = 0, fps: float = 10.0) -> None:
        import socketserver
        import threading
        from http.server import BaseHTTPRequestHandler

        cap = cv2.VideoCapture(str(video))
        self.frames: list[bytes] = []
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            self.frames.append(cv2.imencode(".jpg", frame)[1].tobytes())
        cap.release()
        server = self
        self.stopping = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = 0
                try:
                    while not server.stopping.is_set():
                        jpeg = server.frames[i % len(server.frames)]
                        self.wfile.write(
                            b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                            + str(len(jpeg)).encode()
                            + b"\r\n\r\n"
                            + jpeg
                            + b"\r\n"
                        )
                        i += 1
                        time.sleep(1 / fps)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.httpd = Server(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/video.mjpg"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
