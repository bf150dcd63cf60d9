"""A test run shares nothing in Redis with a running `make run`: queues, control channels,
channel-layer groups, cache entries, leases and live state all live under the run's own prefix.

The end-to-end check starts a Celery worker configured exactly as `make run` starts one (the
default prefix) and one configured as this test run, both on the same Redis database, and
shows that each takes only its own side's tasks and answers only its own side's pings.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
import redis
from celery import Celery
from django.conf import settings

from crowdsafe.celery import app
from tests.support import Worker, wait_for

REPO = Path(__file__).resolve().parents[2]
TASK = "alerts.tasks.send_alert_notification"


def test_this_run_has_a_prefix_of_its_own_everywhere():
    from alerts.state import rules_key
    from alerts.telegram import _limiter_key
    from cameras.live import frame_key, metrics_key
    from cameras.runtime.leases import lease_key, pending_key

    prefix = settings.REDIS_KEY_PREFIX
    assert prefix != settings.DEFAULT_REDIS_KEY_PREFIX and prefix.startswith("crowdsafe-test-")
    assert settings.CACHES["default"]["KEY_PREFIX"] == prefix
    assert settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] == f"{prefix}:asgi"
    assert app.conf.broker_transport_options["global_keyprefix"] == f"{prefix}:"
    for key in (lease_key(1), pending_key(1), frame_key(1), metrics_key(1), rules_key(1), _limiter_key("42")):
        assert key.startswith(f"{prefix}:"), key


def test_no_module_names_a_redis_key_by_hand():
    """Keys come from core.redis.redis_key(), so none escapes the prefix."""
    pattern = re.compile(r"""f?["']crowdsafe:""")
    offenders = []
    for path in REPO.glob("*/**/*.py"):
        relative = path.relative_to(REPO)
        if relative.parts[0] in {".venv", "tests", "node_modules"} or "migrations" in relative.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "use core.redis.redis_key():\n" + "\n".join(offenders)


@pytest.fixture
def shared_redis_url():
    """One Redis database for both sides (as `make run` and `make test` on one Redis): a private
    server, so the `make run` stand-in meets no other test run's stand-in (they would share
    its default prefix); without redis-server, database 14 of the test Redis."""
    from crowdsafe.devtools import start_private_redis

    if not shutil.which("redis-server"):
        parsed = urlparse(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
        yield urlunparse(parsed._replace(path="/14"))
        return
    url, proc = start_private_redis()
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def _celery_app(url: str, keyprefix: str | None) -> Celery:
    """A client app configured as one side: `keyprefix` None is `make run`'s default."""
    options = {k: v for k, v in settings.CELERY_BROKER_TRANSPORT_OPTIONS.items() if k != "global_keyprefix"}
    if keyprefix:
        options["global_keyprefix"] = keyprefix
    # Not the current app: shared tasks of later tests must keep the suite's broker.
    client = Celery(f"side-{uuid.uuid4().hex[:6]}", broker=url, set_as_current=False)
    client.conf.broker_transport_options = options
    client.conf.task_queues = app.conf.task_queues
    client.conf.task_default_queue = "default"
    return client


@pytest.fixture
def start_worker(transactional_db, tmp_path):
    """`start_worker(name, url, prefix, side)`: a solo worker on `default` configured as one side
    (prefix None: `make run`'s default), returned once that side's ping reaches it."""
    workers: list[Worker] = []

    def start(name: str, url: str, prefix: str | None, side: Celery) -> Worker:
        worker = Worker(
            tmp_path, queues="default", pool="solo", concurrency=1, name=name,
            extra_env={"REDIS_URL": url, "CELERY_BROKER_URL": url, "CROWDSAFE_REDIS_PREFIX": prefix},
            ready=lambda w: side.control.ping(destination=[w.node], timeout=0.5),
        )
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def _wait_for_text(worker: Worker, text: str) -> None:
    wait_for(lambda: text in worker.log_path.read_text(), 30, what=repr(text), detail=worker.output)


def test_a_make_run_worker_and_a_test_worker_on_one_redis_never_take_each_others_tasks(
    shared_redis_url, start_worker  # in this order: Redis stops after the workers
):
    url = shared_redis_url
    ours = settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]
    run_side, test_side = _celery_app(url, None), _celery_app(url, ours)
    tag = uuid.uuid4().hex[:6]
    run_worker = start_worker(f"makerun-{tag}", url, None, run_side)
    test_worker = start_worker(f"tests-{tag}", url, settings.REDIS_KEY_PREFIX, test_side)
    run_node, test_node = run_worker.node, test_worker.node

    # Control messages (ping, purge, revoke) reach only the own side's workers.
    assert run_node not in {name for reply in test_side.control.ping(timeout=1) for name in reply}
    assert test_node not in {name for reply in run_side.control.ping(timeout=1) for name in reply}

    run_task = run_side.send_task(TASK, args=[987654321], queue="default").id
    test_task = test_side.send_task(TASK, args=[987654322], queue="default").id
    _wait_for_text(run_worker, f"{run_task}] succeeded")
    _wait_for_text(test_worker, f"{test_task}] succeeded")
    time.sleep(1)
    run_log, test_log = run_worker.log_path.read_text(), test_worker.log_path.read_text()
    assert test_task not in run_log and run_task not in test_log

    # And a queued task waits for its own side: with the test worker gone, nothing takes it.
    test_worker.stop()
    waiting = test_side.send_task(TASK, args=[987654323], queue="default").id
    time.sleep(3)
    client = redis.Redis.from_url(url)
    assert client.llen(f"{ours}default") == 1 and waiting not in run_worker.log_path.read_text()
    client.delete(*client.keys(f"{ours}*"))


def test_make_test_runs_on_a_private_redis_unless_told_otherwise():
    """`make test` (crowdsafe.testenv) without REDIS_URL never uses the local Redis a `make run`
    uses; with REDIS_URL (CI) it uses that one."""
    script = "import os; print(os.environ['REDIS_URL'])"
    command = [sys.executable, "-m", "crowdsafe.testenv", sys.executable, "-c", script]
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    private = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert private.returncode == 0, private.stderr
    url = urlparse(private.stdout.strip())
    assert url.hostname == "127.0.0.1" and url.port != 6379
    chosen = settings.REDIS_URL  # answers: this run uses it
    given = subprocess.run(
        command, cwd=REPO, env={**env, "REDIS_URL": chosen}, capture_output=True, text=True, timeout=60
    )
    assert given.stdout.strip() == chosen
