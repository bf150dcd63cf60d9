"""GET /api/system/health/: unauthenticated liveness of the parts, with no secrets."""

from __future__ import annotations

import time

from django.contrib.auth import get_user
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.roles import Role, role_of
from alerts.delivery import telegram_delivery
from cameras.models import Camera, CameraStatus
from cameras.runtime.capacity import stream_capacity
from core.redis import get_redis
from crowdsafe.celery import app


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return f"error: {type(exc).__name__}"


def _check_redis() -> str:

    try:
        get_redis().ping()
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return f"error: {type(exc).__name__}"


WORKERS_CACHE_KEY = "health:workers"
WORKERS_CACHE_S = 10  # a ping of every worker takes 0.5 s: at most one per 10 s for all callers


def _workers() -> int | None:


    try:
        cached = cache.get(WORKERS_CACHE_KEY)
        if cached is not None:
            return cached
        count = len(app.control.ping(timeout=0.5) or [])
        cache.set(WORKERS_CACHE_KEY, count, WORKERS_CACHE_S)
        return count
    except Exception:  # noqa: BLE001
        return None


def _stream_slots() -> dict[str, int] | None:

    try:
        return stream_capacity().as_dict()
    except Exception:  # noqa: BLE001
        return None


def _caller_is_admin(request) -> bool:
    """The health check authenticates no one (a bad token must not fail it); an admin's session
    or bearer token, when there is one, only unlocks the full notification error."""

    try:
        user = get_user(request)
        if role_of(user) != Role.ADMIN:
            user = (JWTAuthentication().authenticate(request) or (None, None))[0]
        return role_of(user) == Role.ADMIN
    except Exception:  # noqa: BLE001 - an invalid token is simply not an admin
        return False


def _notifications(request) -> dict | None:
    """Whether alerts reach Telegram and why not; Telegram's error in full for admins only."""

    for_admin = _caller_is_admin(request)
    try:
        return telegram_delivery(for_admin=for_admin).as_dict()
    except Exception:  # noqa: BLE001 - the database is down: reported above
        return None


@require_GET
def health(request):

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
        "stream_slots": _stream_slots() if redis == "ok" else None,
        "notifications": _notifications(request) if database == "ok" else None,
    }
    body["checked_in_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)
