"""Fixtures for the API tests: a camera with a zone, metric rows, alerts, a clean cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.models import Metric


def _levels(risk: float) -> str:
    return ("SAFE", "CAUTION", "WARNING", "CRITICAL")[min(3, int(risk * 4))]


@pytest.fixture(autouse=True)
def _clean_shared_cache():
    """Throttle counters live in Redis (the cache); each test starts without them."""
    from core.redis import get_redis, redis_key

    redis = get_redis()
    patterns = (
        redis_key("*", "throttle_login_127.0.0.1"),
        redis_key("*", "throttle_health_127.0.0.1"),
    )
    for pattern in patterns:
        keys = list(redis.scan_iter(pattern, count=1000))
        if keys:
            redis.delete(*keys)
    from core.runtime_settings import invalidate_cache

    invalidate_cache()
    yield


@pytest.fixture
def camera(db):
    from cameras.models import Camera

    return Camera.objects.create(
        name="North Gate",
        location="Stadium north",
        source_type="rtsp",
        source="rtsp://cctv:s3cret-pass@10.0.0.5:554/stream1",
        area_m2=150.0,
        capacity=400,
    )


@pytest.fixture
def zone(camera):
    from cameras.models import Zone

    return Zone.objects.create(
        camera=camera, name="Turnstiles", polygon=[[0, 0], [0.5, 0], [0.5, 1], [0, 1]], area_m2=40.0
    )


def metric_value(i: int) -> dict:
    """Deterministic, varied figures for second i."""
    count = (i * 37) % 90
    risk = ((i * 13) % 100) / 100
    return {
        "count": count,
        "count_max": count + (i % 4),
        "density": round(count / 30, 4),
        "avg_speed": round(((i * 7) % 20) / 10, 2),
        "max_speed": round(((i * 7) % 20) / 10 + 0.5, 2),
        "surge": ((i * 3) % 10) / 10,
        "risk_score": risk,
        "risk_level": _levels(risk),
        "flow_in": i % 3,
        "flow_out": i % 2,
    }


def seed_metrics(camera, start: datetime, seconds: int, *, zone=None, step: int = 1) -> list[Metric]:
    rows = [
        Metric(camera=camera, zone=zone, timestamp=start + timedelta(seconds=s), **metric_value(s))
        for s in range(0, seconds, step)
    ]
    Metric.objects.bulk_create(rows, batch_size=2000)
    return rows


@pytest.fixture
def seed():
    return seed_metrics


@pytest.fixture
def hour_ago() -> datetime:
    return (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)


@pytest.fixture
def make_alert(camera):
    from alerts.models import Alert

    def make(**fields):
        values = {
            "camera": camera,
            "level": "WARNING",
            "trigger": "density",
            "message": "Density 4.2 p/m²",
            "metrics": {"risk_score": 0.62, "density": 4.2},
        }
        values.update(fields)
        return Alert.objects.create(**values)

    return make
