"""The chaos suite's stack: PostgreSQL (the test database), a private Redis it may restart,
the ASGI web server, Celery beat, a `default` worker and two `streams` workers, all with the
default timings, and one file camera played in real time (a 8-minute video) through every
fault: its rows are stamped with video seconds, so any second lost or written twice shows.

Run it with `make chaos` (`pytest -m chaos tests/chaos`): a plain pytest run leaves it out, and
`make test` (CI) runs it in a session of its own after the rest.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import override_settings
from django.test.utils import setup_databases, teardown_databases

from core.redis import get_redis
from tests.chaos.stack import DEFAULT_TIMINGS, RedisServer, start_beat, start_web
from tests.support import Worker

# Files play in real time, as a live source would; no recording (CPU for the faults, not x264).
WORKER_ENV = {"CROWDSAFE_PACE_FILES": "true", "CROWDSAFE_RECORDINGS_ENABLED": "false"}

# The database DATABASE_URL names (read before any fixture runs): the suite must never use it.
MAIN_DATABASE = settings.DATABASES[DEFAULT_DB_ALIAS]["NAME"]


def on_test_database() -> bool:
    return connections[DEFAULT_DB_ALIAS].settings_dict["NAME"] != MAIN_DATABASE


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, django_db_keepdb, django_db_createdb):
    """pytest-django's, plus the test database when it created none.

    pytest-django creates a test database only for the aliases that the session's tests claim
    (a `django_db` mark, or the `db` / `transactional_db` fixtures). The chaos tests claim none
    on purpose: their scenarios share one state and run against live workers, so they can be
    neither wrapped in a transaction nor flushed after each test. Run alone (`-m chaos`, as
    `make chaos` and CI do), the session then had no test database at all, and the suite, its
    workers and its final flush used the main database.
    """
    if on_test_database():  # another test of this session claimed it: pytest-django made it
        yield
        return
    keepdb = django_db_keepdb and not django_db_createdb  # --reuse-db / --create-db, as pytest-django
    with django_db_blocker.unblock():
        created = setup_databases(verbosity=0, interactive=False, aliases={DEFAULT_DB_ALIAS},
                                  serialized_aliases=set(), keepdb=keepdb)
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            teardown_databases(created, verbosity=0, keepdb=keepdb)


@pytest.fixture(scope="module")
def media_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("chaos-media")


def _stack_settings(url: str, media_root: Path) -> dict:
    caches = json.loads(json.dumps(settings.CACHES))
    caches["default"]["LOCATION"] = url
    layers = json.loads(json.dumps(settings.CHANNEL_LAYERS))
    layers["default"]["CONFIG"]["hosts"][0]["address"] = url
    return {"REDIS_URL": url, "CELERY_BROKER_URL": url, "CACHES": caches, "CHANNEL_LAYERS": layers,
            "MEDIA_ROOT": media_root, "UPLOAD_DIR": media_root / "uploads",
            "RECORDINGS_DIR": media_root / "recordings", "SNAPSHOTS_DIR": media_root / "snapshots"}


def long_video(src: Path, dest: Path, loops: int) -> Path:
    """`src` at 5 fps, `loops` times over, as H.264 MP4 (small and quick to write)."""
    import av
    import cv2

    cap = cv2.VideoCapture(str(src))
    frames, index = [], 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if index % 2 == 0:
            frames.append(frame)
        index += 1
    cap.release()
    h, w = frames[0].shape[:2]
    with av.open(str(dest), "w") as out:
        stream = out.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "30"}
        for _ in range(loops):
            for frame in frames:
                out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        out.mux(stream.encode())
    return dest


class Stack:
    def __init__(self, media_root: Path) -> None:
        self.media_root = media_root
        self.redis = RedisServer()
        self.services: list = []
        self.workers: dict[str, Worker] = {}
        self.results: dict[str, dict] = {}

    def start_worker(self, name: str, queues: str, concurrency: int) -> Worker:
        worker = Worker(self.media_root, name=name, queues=queues, concurrency=concurrency,
                        extra_env={**DEFAULT_TIMINGS, **WORKER_ENV, "REDIS_URL": self.redis.url,
                                   "CELERY_BROKER_URL": self.redis.url})
        self.workers[name] = worker
        return worker

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        for service in self.services:
            service.stop()
        self.redis.close()
        # Keep the services' logs (pytest's temporary folders are soon removed) for a failed run.
        logs = Path(settings.VAR_DIR) / "chaos-logs"
        shutil.rmtree(logs, ignore_errors=True)
        logs.mkdir(parents=True)
        for log in self.media_root.glob("*.log"):
            shutil.copy(log, logs / log.name)


@pytest.fixture(scope="module")
def stack(request, django_db_blocker, media_root, test_model, vtest_avi):
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("SKIPPED LOUDLY: the chaos suite needs PostgreSQL (DATABASE_URL=postgres://...)")
    request.getfixturevalue("django_db_setup")  # after the skip: no test database made for nothing
    # Its workers get database_url() and it flushes at the end: never the main database.
    assert on_test_database(), f"the chaos suite would run on the main database {MAIN_DATABASE}"
    started = time.monotonic()
    stack = Stack(media_root)
    override = override_settings(**_stack_settings(stack.redis.url, media_root))
    override.enable()
    get_redis.cache_clear()
    try:
        with django_db_blocker.unblock():
            web, stack.base_url = start_web(stack.redis.url, media_root)
            stack.services.append(web)
            stack.services.append(start_beat(stack.redis.url, media_root))
            stack.start_worker("default", "default", 1)
            stack.start_worker("streams-a", "streams", 2)
            stack.start_worker("streams-b", "streams", 1)
            (media_root / "uploads").mkdir(exist_ok=True)
            stack.video = long_video(vtest_avi, media_root / "chaos-8min.mp4", loops=6)
            stack.startup_s = time.monotonic() - started
            yield stack
    finally:
        try:
            stack.stop()
        finally:
            override.disable()
            get_redis.cache_clear()
            _write_report(stack)
            with django_db_blocker.unblock():  # what the suite wrote must not reach other tests
                call_command("flush", interactive=False, verbosity=0)


def _write_report(stack: Stack) -> None:
    if not stack.results:
        return
    report = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "database": "postgresql",
        "timings": "default (lease TTL 15 s, heartbeat 2 s)",
        "startup_s": round(getattr(stack, "startup_s", 0.0), 1),
        "scenarios": stack.results,
    }
    path = Path(settings.VAR_DIR) / "chaos.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nChaos results ({path}):")
    for name, result in stack.results.items():
        figures = ", ".join(f"{k} {v}" for k, v in result.items() if k != "errors")
        print(f"  {name:<22} {figures}")


@pytest.fixture(autouse=True)
def _db(django_db_blocker):
    """The suite shares one database state across its scenarios (no per-test flush)."""
    with django_db_blocker.unblock():
        yield

