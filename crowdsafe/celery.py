"""The Celery app: `streams` queue for camera runners, `default` for short tasks."""

from __future__ import annotations

import os

from celery import Celery
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crowdsafe.settings")

app = Celery("crowdsafe")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each queue on its own exchange and routing key: a task goes to exactly one queue.
app.conf.task_queues = (
    Queue("default", Exchange("default"), routing_key="default"),
    Queue("streams", Exchange("streams"), routing_key="streams"),
)
app.conf.task_default_exchange = "default"
app.conf.task_default_routing_key = "default"
# Streams pool processes load the detector while starting (cameras.tasks): give them the time
# (Celery's default of 4 s would kill them mid-load).
app.conf.worker_proc_alive_timeout = 180.0
# A pool process that died is reported (task_failure, WorkerLostError) after this wait for a
# result still in its pipe; the camera runtime reacts to it (cameras.tasks), so keep it short.
app.conf.worker_lost_wait = 2.0
app.conf.beat_schedule = {
    # Cheap (one query and a few Redis reads); a frozen runner's camera is taken over this
    # long at most after its lease expires.
    "reconcile-cameras": {"task": "cameras.tasks.reconcile_cameras", "schedule": 5.0},
    "purge-old-recordings": {"task": "cameras.tasks.purge_old_recordings", "schedule": 3600.0},
    "purge-old-clips": {"task": "alerts.tasks.purge_old_clips", "schedule": 3600.0},
    "purge-old-data": {"task": "analytics.tasks.purge_old_data", "schedule": 3600.0},
    # Hourly rollups of metrics, stored once an hour is sealed (reads never write them).
    "seal-metric-hours": {"task": "analytics.tasks.seal_metric_hours", "schedule": 600.0},
}
app.autodiscover_tasks()


def _add_steps() -> None:
    from cameras.runtime.capacity import StreamSlots  # streams workers publish their slot count

    app.steps["consumer"].add(StreamSlots)


_add_steps()
