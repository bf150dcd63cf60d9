"""The one home of what tests use to run real processes: the test database's URL, a free port,
waiting for a condition, a Celery worker, the ASGI web server (uvicorn) and any other service.

Every suite imports these from here (runtime, alerts, analytics, browser, chaos, foundation),
so a worker or server is started, awaited and stopped the same way everywhere.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Short camera-runtime timings for the workers the tests start (settings.py reads them); the
# chaos suite unsets them (the defaults).
FAST_TIMINGS = {
    "CROWDSAFE_CAMERA_LEASE_TTL_S": "5",
    "CROWDSAFE_CAMERA_HEARTBEAT_S": "0.5",
    "CROWDSAFE_NO_FRAME_WATCHDOG_S": "5",
    "CROWDSAFE_SOURCE_OPEN_TIMEOUT_S": "3",
    "CROWDSAFE_RECONNECT_INITIAL_S": "0.5",
    "CROWDSAFE_RECONNECT_MAX_S": "4",
}


def wait_for(
    condition: Callable[[], object],
    timeout_s: float = 60.0,
    interval_s: float = 0.2,
    what: str = "",
    detail: Callable[[], str] | None = None,
):
    """Poll until `condition()` is truthy and return its value; on timeout fail naming `what`,
    with `detail()` (a log's tail, say) appended."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            message = f"timed out after {timeout_s} s waiting for {what or condition}"
            raise AssertionError(message + (f"\n{detail()}" if detail else ""))
        time.sleep(interval_s)


def free_port() -> int:
    """A loopback port nothing listens on (once this returns)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The URL of the database this pytest process uses now (the test database, once
    django_db_setup has run), for the processes it starts."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = (s.get("USER") or "postgres") + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def process_env(overrides: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """This process's environment on the test database, plus `overrides` (None unsets a name)."""
    env = dict(os.environ)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # the browser tests' escape hatch, never a service's
    env.update(DATABASE_URL=database_url(), PYTHONUNBUFFERED="1")
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


class Service:
    """A subprocess in its own process group with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = Path(log_dir) / f"{name}-{time.time_ns()}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def terminate(self, timeout_s: float = 30) -> int:
        """SIGTERM to the main process only (a warm shutdown) and wait."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        finally:
            self.stop()

    def stop(self) -> None:
        """Make sure the process and its children are gone (used in every teardown)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
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


def _ready_in_redis(worker: Worker) -> bool:
    """The worker said in the test Redis that it consumes (cameras.tasks, at worker_ready)."""
    from cameras.tasks import ready_key
    from core.redis import get_redis

    return bool(get_redis().exists(ready_key(worker.proc.pid)))


class Worker(Service):
    """A real Celery worker process on the test database, returned once it consumes.

    `extra_env` goes over the test settings' Redis and broker, FAST_TIMINGS and MEDIA_ROOT
    (None unsets a name); `ready(worker)` says it is up (by default: its mark in the test Redis).
    """

    def __init__(
        self,
        media_root: Path,
        *,
        queues: str = "streams,default",
        concurrency: int = 2,
        pool: str = "prefork",
        name: str = "rt",
        extra_env: Mapping[str, str | None] | None = None,
        log_dir: Path | None = None,
        ready: Callable[[Worker], object] = _ready_in_redis,
    ) -> None:
        from django.conf import settings

        self.node = f"{name}-{os.getpid()}@{socket.gethostname()}"
        env = process_env(
            {
                **FAST_TIMINGS,
                "REDIS_URL": settings.REDIS_URL,
                "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
                "MEDIA_ROOT": str(media_root),
                **(extra_env or {}),
            }
        )
        argv = [sys.executable, "-m", "celery", "-A", "crowdsafe", "worker", "-Q", queues,
                "-P", pool, "-c", str(concurrency), "-n", self.node, "--without-heartbeat",
                "--without-gossip", "--without-mingle", "-l", "INFO"]
        super().__init__(f"worker-{name}", argv, env, log_dir or media_root)
        try:
            wait_for(
                lambda: self.proc.poll() is not None or ready(self), 90, what="the Celery worker to start"
            )
            assert self.proc.poll() is None, self.output()
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid


def start_web(
    log_dir: Path,
    env: Mapping[str, str | None] | None = None,
    *,
    ready_path: str = "/api/system/health/",
    ws: str = "auto",
) -> tuple[Service, str]:
    """uvicorn serving crowdsafe.asgi (HTTP and websockets, uvicorn's `ws` implementation) on
    a free port, once `ready_path` answers without a server error; returns it and its base URL."""
    import requests

    port = free_port()
    service = Service(
        "web",
        [sys.executable, "-m", "uvicorn", "crowdsafe.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--ws", ws],
        process_env(env),
        log_dir,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert service.proc.poll() is None, service.output()
        try:
            return requests.get(base + ready_path, timeout=2).status_code < 500
        except requests.RequestException:
            return False

    try:
        wait_for(up, 60, 0.3, what="the web server", detail=service.output)
    except BaseException:
        service.stop()
        raise
    return service, base


def decoder_children(pid: int) -> list[int]:
    """Live decoding children (cameras/capture.py) of a process, whichever thread started them."""
    found = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in children.read_text().split():
            try:
                if b"cameras.capture" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
            except FileNotFoundError:  # gone meanwhile
                pass
    return found
