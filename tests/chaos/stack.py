"""Pieces of a real stack that the fault tests start, break and restart.

A private `redis-server` (so a test may kill and restart it without touching anyone else's
Redis), and the environment of the web server, Celery beat and workers on it (each started
with tests.support, as every suite starts them).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from tests.support import FAST_TIMINGS, Service, free_port, process_env, wait_for
from tests.support import start_web as start_asgi

# Unset (None): the workers use the settings' defaults; the chaos suite runs with the default timings.
DEFAULT_TIMINGS: dict[str, str | None] = {name: None for name in FAST_TIMINGS}


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


def _service_env(redis_url: str, media_root: Path) -> dict[str, str]:
    urls = {"REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url}
    return process_env({**DEFAULT_TIMINGS, **urls, "MEDIA_ROOT": str(media_root)})


def start_web(redis_url: str, media_root: Path) -> tuple[Service, str]:
    """uvicorn serving crowdsafe.asgi on this Redis; returns it and its base URL."""
    return start_asgi(media_root, _service_env(redis_url, media_root))


def start_beat(redis_url: str, media_root: Path) -> Service:
    schedule = Path(media_root) / f"beat-{time.time_ns()}"
    return Service(
        "beat",
        [sys.executable, "-m", "celery", "-A", "crowdsafe", "beat", "-s", str(schedule), "-l", "INFO"],
        _service_env(redis_url, media_root),
        media_root,
    )
