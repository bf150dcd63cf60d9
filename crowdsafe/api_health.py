"""GET /api/system/health/: unauthenticated liveness of the parts, with no secrets."""

from __future__ import annotations

import time

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return f"error: {type(exc).__name__}"


def _check_redis() -> str:
    from crowdsafe.redis import get_redis

    try:
        get_redis().ping()
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return f"error: {type(exc).__name__}"


def _workers() -> int | None:
    from crowdsafe.celery import app

    try:
        return len(app.control.ping(timeout=0.5) or [])
    except Exception:  # noqa: BLE001
        return None


@require_GET
def health(request):
    from cameras.models import Camera, CameraStatus

    started = time.perf_counter()
    database, redis = _check_database(), _check_redis()
    body = {
        "status": "ok" if database == "ok" and redis == "ok" else "error",
        "database": database,
        "redis": redis,
        "workers": _workers() if redis == "ok" else None,
        "cameras_running": (
            Camera.objects.filter(status=CameraStatus.RUNNING).count() if database == "ok" else None
        ),
    }
    body["checked_in_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)
