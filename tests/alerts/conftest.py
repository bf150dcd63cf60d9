"""Fixtures for the alert tests: clean rule state, a camera, the fake Bot API, a Celery worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.alerts.fake_telegram import start_fake_telegram

REPO = Path(__file__).resolve().parents[2]
TOKEN = "123456:TEST-token-ABCdefGHIjklMNO"
CHATS = ["42", "-100123"]


def _clear_redis() -> None:
    from crowdsafe.redis import get_redis, redis_key

    r = get_redis()
    keys = list(r.scan_iter(redis_key("alerts", "*"), count=500))
    if keys:
        r.delete(*keys)


@pytest.fixture(autouse=True)
def alerts_clean(settings, tmp_path):
    """Each test starts with no rule state, fresh caches and its own media folder."""
    from alerts.hooks import forget_caches
    from crowdsafe.runtime_settings import invalidate_cache

    settings.MEDIA_ROOT = tmp_path / "media"
    _clear_redis()
    forget_caches()
    invalidate_cache()
    yield
    _clear_redis()
    forget_caches()
    invalidate_cache()


@pytest.fixture
def camera(db):
    from cameras.models import Camera

    return Camera.objects.create(name="Main Gate", location="North stand", area_m2=100.0)


@pytest.fixture
def telegram(settings):
    """The fake Bot API server; TELEGRAM_API_BASE points at it."""
    fake, server = start_fake_telegram()
    settings.TELEGRAM_API_BASE = fake.url
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def telegram_on(db, telegram):
    from crowdsafe.runtime_settings import update_runtime_settings

    update_runtime_settings(
        {"telegram_enabled": True, "telegram_bot_token": TOKEN, "telegram_chat_ids": ", ".join(CHATS)}
    )
    return telegram


def _database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def start_worker(transactional_db, settings, telegram, tmp_path):
    """`start_worker(**env)`: a real Celery worker on the `default` queue, using the test
    database and our Redis; every one started is stopped after the test."""
    from crowdsafe.celery import app

    app.control.purge()  # nothing left over from an earlier run
    started: list[subprocess.Popen] = []

    def start(pool: str = "solo", **extra_env: str) -> subprocess.Popen:
        log = tmp_path / f"worker{len(started)}.log"
        proc = _start_worker(settings, telegram, log, pool, extra_env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the worker and its pool's children
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture
def celery_worker(start_worker):
    return start_worker()


def _start_worker(
    settings, telegram, log_path: Path, pool: str, extra_env: dict[str, str]
) -> subprocess.Popen:
    from crowdsafe.celery import app

    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "TELEGRAM_API_BASE": telegram.url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "DJANGO_SETTINGS_MODULE": "crowdsafe.settings",
        **extra_env,
    }
    name = f"alerts-test-{os.getpid()}-{log_path.stem}@{socket.gethostname()}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "crowdsafe",
                "worker",
                "-Q",
                "default",
                "--pool",
                pool,
                "--concurrency",
                "1",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "-n",
                name,
                "--loglevel",
                "INFO",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a test can kill it whole
        )
    deadline = time.monotonic() + 90
    while not app.control.ping(destination=[name], timeout=0.5):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the Celery worker did not start:\n{log_path.read_text()[-3000:]}")
    return proc
