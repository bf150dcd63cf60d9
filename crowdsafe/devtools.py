"""Helpers for the two local commands (`make run`, `make test`): find or start Redis.

Not used in production, where Redis is a service of its own (docker-compose.yml).
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from urllib.parse import urlparse

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    """True when a Redis server answers PING at `url`."""
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout) as s:
            s.settimeout(timeout)
            if parsed.password:
                s.sendall(f"AUTH {parsed.password}\r\n".encode())
                s.recv(64)
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_private_redis() -> tuple[str, subprocess.Popen]:
    """Start `redis-server` on a free loopback port (no persistence); stopped at exit."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit(
            "No Redis answers at REDIS_URL and no redis-server is installed.\n"
            "Install it (Debian/Ubuntu: sudo apt-get install redis-server) or set REDIS_URL."
        )
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="crowdsafe-redis-")
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    atexit.register(_stop, proc)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not redis_answers(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"redis-server did not start on port {port}.")
        time.sleep(0.1)
    return url, proc


def ensure_redis() -> tuple[str, subprocess.Popen | None]:
    """The URL of a Redis that answers: REDIS_URL (default local 6379) or a private one."""
    url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    if redis_answers(url):
        return url, None
    explicit = "REDIS_URL" in os.environ
    url, proc = start_private_redis()
    reason = "REDIS_URL does not answer" if explicit else "No Redis on 6379"
    print(f"{reason}: started a private Redis at {url}")
    return url, proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
