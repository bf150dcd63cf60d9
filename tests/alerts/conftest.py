"""Fixtures for the alert tests: clean rule state, a camera, the fake Bot API, a Celery worker."""

from __future__ import annotations

import pytest

from tests.alerts.fake_telegram import start_fake_telegram
from tests.support import Worker

TOKEN = "123456:TEST-token-ABCdefGHIjklMNO"
CHATS = ["42", "-100123"]


def _clear_redis() -> None:
    from core.redis import get_redis, redis_key

    r = get_redis()
    keys = list(r.scan_iter(redis_key("alerts", "*"), count=500))
    if keys:
        r.delete(*keys)


@pytest.fixture(autouse=True)
def alerts_clean(settings, tmp_path):
    """Each test starts with no rule state, fresh caches and its own media folder."""
    from alerts.hooks import forget_caches
    from core.runtime_settings import invalidate_cache

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
    from core.runtime_settings import update_runtime_settings

    update_runtime_settings(
        {"telegram_enabled": True, "telegram_bot_token": TOKEN, "telegram_chat_ids": ", ".join(CHATS)}
    )
    return telegram


@pytest.fixture
def start_worker(transactional_db, settings, telegram, tmp_path):
    """`start_worker(pool="solo", **env)`: a real Celery worker on the `default` queue, using the
    test database, our Redis and the fake Bot API; every one started is stopped after the test."""
    from crowdsafe.celery import app

    app.control.purge()  # nothing left over from an earlier run
    started: list[Worker] = []

    def start(pool: str = "solo", **extra_env: str) -> Worker:
        worker = Worker(
            settings.MEDIA_ROOT,
            queues="default",
            pool=pool,
            concurrency=1,
            name=f"alerts{len(started)}",
            extra_env={"TELEGRAM_API_BASE": telegram.url, **extra_env},
            log_dir=tmp_path,
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def celery_worker(start_worker):
    return start_worker()
