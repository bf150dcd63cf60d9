"""Pieces of a real stack that the fault tests start, break and restart.

A private `redis-server` (so a test may kill and restart it without touching anyone else's
Redis), the ASGI web server (uvicorn) and Celery beat as subprocesses; Celery workers come
from tests.runtime.helpers.Worker.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from tests.runtime.helpers import FAST_TIMINGS, REPO, database_url, free_port, wait_for

# Empty values make cameras.conf use its defaults: the chaos suite runs with the default timings.
DEFAULT_TIMINGS = {name: "" for name in FAST_TIMINGS}


class RedisServer:
    """A redis-server of our own on a free loopback port, without persistence (like a restart
    of the production container that loses every key)."""

    def __init__(self, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
        self.binary = binary
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tempfile.mkdtemp(prefix="crowdsafe-chaos-redis-")
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(self.answers, 10, 0.05, what=f"redis-server on port {self.port}")

    def answers(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: gone at once, every key lost."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def _service_env(redis_url: str, media_root: Path, extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update(DEFAULT_TIMINGS)
    env.update(
        DATABASE_URL=database_url(),
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        MEDIA_ROOT=str(media_root),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


class Service:
    """A subprocess with its output in a log file; stopped with its whole process group."""

    def __init__(self, name: str, argv: list[str], env: dict, log_dir: Path) -> None:
        self.name = name
        self.log_path = Path(log_dir) / f"{name}-{time.time_ns()}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()


def start_web(redis_url: str, media_root: Path) -> tuple[Service, str]:
    """uvicorn serving crowdsafe.asgi on a free port; returns it and its base URL."""
    port = free_port()
    service = Service(
        "web",
        [sys.executable, "-m", "uvicorn", "crowdsafe.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        _service_env(redis_url, media_root),
        media_root,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        import requests

        assert service.proc.poll() is None, service.output()
        try:
            return requests.get(f"{base}/api/system/health/", timeout=2).status_code < 500
        except requests.RequestException:
            return False

    try:
        wait_for(up, 60, 0.3, what="the web server")
    except BaseException:
        service.stop()
        raise
    return service, base


def start_beat(redis_url: str, media_root: Path) -> Service:
    schedule = Path(media_root) / f"beat-{time.time_ns()}"
    return Service(
        "beat",
        [sys.executable, "-m", "celery", "-A", "crowdsafe", "beat", "-s", str(schedule), "-l", "INFO"],
        _service_env(redis_url, media_root),
        media_root,
    )
