"""Each Celery task reaches exactly one queue on the real Redis broker."""

from __future__ import annotations

import os
from urllib.parse import urlparse, urlunparse

import redis

from crowdsafe.celery import app


def _isolated_broker_url() -> str:
    # A database of its own, so no running worker consumes what this test publishes.
    parsed = urlparse(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    return urlunparse(parsed._replace(path="/15"))


def test_camera_runners_go_to_streams_and_the_rest_to_default():
    url = _isolated_broker_url()
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        with app.connection_for_write(url) as conn:
            app.send_task("cameras.tasks.run_camera", args=[1], connection=conn)
            app.send_task("alerts.tasks.send_alert_notification", args=[1], connection=conn)
            app.send_task("cameras.tasks.reconcile_cameras", connection=conn)
        assert client.llen("streams") == 1
        assert client.llen("default") == 2
    finally:
        client.flushdb()
