"""Each Celery task reaches exactly one queue on the real Redis broker."""

from __future__ import annotations

import os
from urllib.parse import urlparse, urlunparse

import redis
from django.conf import settings

from crowdsafe.celery import app


def _isolated_broker_url() -> str:
    # A database of its own, so no worker of this run consumes what this test publishes.
    parsed = urlparse(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    return urlunparse(parsed._replace(path="/15"))


def _clear(client: redis.Redis) -> None:
    """Only this run's keys: another run (or a `make run`) may use the same database."""
    keys = list(client.scan_iter(f"{settings.REDIS_KEY_PREFIX}:*"))
    if keys:
        client.delete(*keys)


def test_camera_runners_go_to_streams_and_the_rest_to_default():
    url = _isolated_broker_url()
    client = redis.Redis.from_url(url)
    prefix = app.conf.broker_transport_options.get("global_keyprefix", "")
    _clear(client)
    try:
        with app.connection_for_write(url) as conn:
            app.send_task("cameras.tasks.run_camera", args=[1], connection=conn)
            app.send_task("alerts.tasks.send_alert_notification", args=[1], connection=conn)
            app.send_task("cameras.tasks.reconcile_cameras", connection=conn)
        assert client.llen(f"{prefix}streams") == 1
        assert client.llen(f"{prefix}default") == 2
    finally:
        _clear(client)
