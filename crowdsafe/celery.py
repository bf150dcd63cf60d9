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
app.conf.beat_schedule = {
    "reconcile-cameras": {"task": "cameras.tasks.reconcile_cameras", "schedule": 15.0},
    "purge-old-recordings": {"task": "cameras.tasks.purge_old_recordings", "schedule": 3600.0},
    "purge-old-data": {"task": "crowdsafe.tasks.purge_old_data", "schedule": 3600.0},
    "warm-metric-partials": {"task": "reports.tasks.warm_metric_partials", "schedule": 600.0},
}
app.autodiscover_tasks()
