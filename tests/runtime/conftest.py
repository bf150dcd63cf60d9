"""Fixtures of the camera runtime tests: media in a temporary folder, clips, live-state cleanup."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.redis import get_redis, redis_key
from tests.runtime.helpers import cut_clip


@pytest.fixture(scope="session")
def media_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _media(settings, media_root):
    """Uploads and recordings in a temporary folder (the worker gets the same MEDIA_ROOT)."""
    settings.MEDIA_ROOT = media_root
    settings.UPLOAD_DIR = media_root / "uploads"
    settings.RECORDINGS_DIR = media_root / "recordings"
    shutil.rmtree(settings.UPLOAD_DIR, ignore_errors=True)  # ids repeat across tests (SQLite)
    settings.UPLOAD_DIR.mkdir()
    yield


@pytest.fixture(autouse=True)
def _clean_live_state():
    """Camera keys (leases, frames, metrics) of one test never leak into the next."""
    redis = get_redis()

    def clean():
        keys = list(redis.scan_iter(redis_key("camera", "*"))) + list(
            redis.scan_iter(redis_key("worker-shutdown", "*"))
        )
        if keys:
            redis.delete(*keys)

    clean()
    yield
    clean()


@pytest.fixture(scope="session")
def clip4(vtest_avi, tmp_path_factory) -> Path:
    """The first 4 s (40 frames) of vtest.avi."""
    return cut_clip(vtest_avi, tmp_path_factory.mktemp("clips") / "vtest-4s.avi", 4.0)


@pytest.fixture(scope="session")
def clip_long(vtest_avi) -> Path:
    """All of vtest.avi (79 s at 10 fps): a camera that keeps running while a test acts."""
    return vtest_avi


@pytest.fixture(scope="module")
def worker(django_db_setup, media_root, test_model):
    """A real Celery worker (prefork, 2 processes) on the streams and default queues, per module."""
    from tests.support import Worker

    w = Worker(media_root, name="rt", concurrency=2)
    yield w
    w.stop()
