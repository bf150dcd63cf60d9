"""Celery tasks of the camera runtime: the per-camera runner, reconcile, recording retention.

`run_camera` runs on the `streams` queue (settings.CELERY_TASK_ROUTES) for as long as the
camera runs. Nothing relies on the broker redelivering it: `reconcile_cameras` (beat,
every 15 s) restarts cameras that should run and have no live lease.

Worker shutdown (SIGTERM): the master process gets `worker_shutting_down`; it sets an
in-process flag (solo/threads pools) and a Redis key named after its pid (prefork children
look for their parent's), and every runner ends at its next heartbeat: recording
finalised, status set, lease released.

Crashes (issue #11): a pool process that dies (kill -9, OOM) fails its task with
WorkerLostError in the master, whose `task_failure` handler breaks the dead process's lease
and queues a new runner at once (status "recovering"); a worker restarted after dying whole
does the same for its host's dead runners on `worker_ready`; a pool process that exits with a
lease hands it back (`worker_process_shutdown`). Pool processes of a `streams` worker load
the detector when they start (`worker_process_init`), so taking over costs no model loading.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading

from billiard.exceptions import WorkerLostError
from celery import shared_task
from celery.signals import (
    task_failure,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutting_down,
)
from django.conf import settings
from django.db import connections

from cameras import recordings, services
from cameras.runtime import leases, runner
from core.redis import get_redis, redis_key

log = logging.getLogger(__name__)

_shutdown = threading.Event()
_consumes_streams = False  # set in the worker's main process before the pool forks
SHUTDOWN_KEY_TTL_S = 600


def _shutdown_key(pid: int) -> str:
    return redis_key("worker-shutdown", pid)


def ready_key(pid: int) -> str:
    return redis_key("worker-ready", pid)


@worker_init.connect
def _on_worker_init(sender=None, **_kwargs) -> None:
    global _consumes_streams
    queues = getattr(getattr(sender, "app", None), "amqp", None)
    consume_from = getattr(getattr(queues, "queues", None), "consume_from", None)
    _consumes_streams = not consume_from or "streams" in consume_from  # no -Q: every queue


@worker_process_init.connect
def _on_worker_process_init(**_kwargs) -> None:
    """A streams pool process loads the detector as it starts, not when it takes a camera over
    (crowdsafe.celery gives pool processes the time this needs)."""
    if not _consumes_streams:
        return
    # Here only: every process imports the tasks, only streams pool processes need the engine.
    from analytics.engine import DetectorConfig, get_detector

    try:  # the same cache key (model, device) as the runner's; no database needed here
        get_detector(
            DetectorConfig(
                model=settings.CROWDSAFE_DETECTOR_MODEL,
                device=settings.CROWDSAFE_DETECTOR_DEVICE,
                imgsz=settings.CROWDSAFE_DETECTOR_IMGSZ,
                allow_download=settings.CROWDSAFE_DETECTOR_ALLOW_DOWNLOAD,
                half=settings.CROWDSAFE_DETECTOR_HALF,
            )
        )
    except Exception as exc:  # the runner reports it on its camera; the process must start
        log.warning("Detector not preloaded: %s", exc)


def _in_main_process(action, *args) -> None:
    """Run a recovery step in the worker's main process, then close its database connection:
    pool processes forked later must not inherit an open one."""

    try:
        action(*args)
    except Exception:
        log.exception("Camera recovery failed; reconcile will retry")
    finally:
        connections.close_all()


@worker_ready.connect
def _on_worker_ready(**_kwargs) -> None:
    """Say in Redis that this worker consumes (health checks and tests wait for it), and take
    over at once the cameras of runners that died on this host or whose lease expired (a
    crashed worker restarted), instead of waiting for beat's next reconcile. Ready is said
    after that takeover: a camera started meanwhile would race it for the same start."""
    try:
        _in_main_process(services.reconcile)
    finally:
        with contextlib.suppress(Exception):
            get_redis().set(ready_key(os.getpid()), "1", ex=3600)


@task_failure.connect
def _on_task_failure(sender=None, exception=None, args=None, **_kwargs) -> None:
    """In the worker's main process: a runner's pool process died; its camera is taken over."""
    if getattr(sender, "name", "") != run_camera.name or not isinstance(exception, WorkerLostError):
        return
    _in_main_process(services.recover_camera, int(args[0]), "The runner's worker process died.")


@worker_process_shutdown.connect
def _on_worker_process_shutdown(**_kwargs) -> None:
    """A pool process exiting with a lease (it was killed mid-task) hands it back at once."""
    for lease in leases.held_leases():
        with contextlib.suppress(Exception):
            lease.release()
        with contextlib.suppress(Exception):
            if not _worker_shutting_down():
                services.recover_camera(lease.camera_id, "The runner's worker process exited.")


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


@shared_task(name=services.RUN_CAMERA_TASK, ignore_result=True)
def run_camera(camera_id: int) -> str:
    outcome = runner.run(camera_id, should_stop=_worker_shutting_down)
    if outcome == runner.RESTART:  # the source changed: a fresh runner opens the new one
        services.enqueue_runner(camera_id)
    return outcome


@shared_task(name="cameras.tasks.reconcile_cameras", ignore_result=True)
def reconcile_cameras() -> dict[str, list[int]]:
    return services.reconcile()


@shared_task(name="cameras.tasks.purge_old_recordings", ignore_result=True)
def purge_old_recordings() -> int:
    return recordings.purge_old_recordings()
