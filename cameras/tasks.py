"""Celery tasks of the camera runtime: the per-camera runner, reconcile, recording retention.

`run_camera` runs on the `streams` queue (settings.CELERY_TASK_ROUTES) for as long as the
camera runs. Nothing relies on the broker redelivering it: `reconcile_cameras` (beat,
every 15 s) restarts cameras that should run and have no live lease.

Worker shutdown (SIGTERM): the master process gets `worker_shutting_down`; it sets an
in-process flag (solo/threads pools) and a Redis key named after its pid (prefork children
look for their parent's), and every runner ends at its next heartbeat: recording
finalised, status set, lease released.
"""

from __future__ import annotations

import contextlib
import os
import threading

from celery import shared_task
from celery.signals import worker_ready, worker_shutting_down

from cameras import recordings, runner, services
from crowdsafe.redis import get_redis

_shutdown = threading.Event()
SHUTDOWN_KEY_TTL_S = 600


def _shutdown_key(pid: int) -> str:
    return f"crowdsafe:worker-shutdown:{pid}"


def ready_key(pid: int) -> str:
    return f"crowdsafe:worker-ready:{pid}"


@worker_ready.connect
def _on_worker_ready(**_kwargs) -> None:
    """Say in Redis that this worker consumes (health checks and tests wait for it)."""
    with contextlib.suppress(Exception):
        get_redis().set(ready_key(os.getpid()), "1", ex=3600)


@worker_shutting_down.connect
def _on_worker_shutting_down(**_kwargs) -> None:
    _shutdown.set()
    with contextlib.suppress(Exception):
        get_redis().delete(ready_key(os.getpid()))
    # Shutting down anyway: if Redis fails, the in-process flag still stops local runners.
    with contextlib.suppress(Exception):
        get_redis().set(_shutdown_key(os.getpid()), "1", ex=SHUTDOWN_KEY_TTL_S)


def _worker_shutting_down() -> bool:
    if _shutdown.is_set():
        return True
    return bool(get_redis().exists(_shutdown_key(os.getppid()), _shutdown_key(os.getpid())))


@shared_task(name="cameras.tasks.run_camera", ignore_result=True)
def run_camera(camera_id: int) -> str:
    return runner.run(camera_id, should_stop=_worker_shutting_down)


@shared_task(name="cameras.tasks.reconcile_cameras", ignore_result=True)
def reconcile_cameras() -> dict[str, list[int]]:
    return services.reconcile()


@shared_task(name="cameras.tasks.purge_old_recordings", ignore_result=True)
def purge_old_recordings() -> int:
    return recordings.purge_old_recordings()
