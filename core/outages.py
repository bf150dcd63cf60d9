"""Outages of Redis, the broker or a database connection: recognise them, answer 503 instead
of 500, log them sparingly.

Redis holds only live and short-lived state (leases, live frames, the channel layer, the
cache, the Celery broker); the database holds everything that matters. So while Redis is
away pages and the API keep answering from the database, and what truly needs Redis
(starting a camera, a live stream) gets a clear 503 with Retry-After, never a 500. A
request caught by a killed database connection gets the same 503; the next one reconnects.
"""

from __future__ import annotations

import logging
import threading
import time

from django import db
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.deprecation import MiddlewareMixin
from kombu.exceptions import OperationalError  # the Celery broker
from redis.exceptions import RedisError

RETRY_AFTER_S = 5
UNAVAILABLE_DETAIL = "A backing service (Redis or the database) is unavailable for a moment; try again."


def is_outage(exc: BaseException) -> bool:
    """True for errors that mean Redis, the Celery broker or the database cannot be reached now."""
    if isinstance(exc, RedisError | db.OperationalError | db.InterfaceError):
        return True
    return isinstance(exc, OperationalError)


class OutageMiddleware(MiddlewareMixin):
    """Pages: a Redis or broker outage inside a view becomes a 503 page (JSON under /api/)."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_outage(exception):
            return None
        warn_throttled(logging.getLogger("core.outages"), "view", "Service unavailable in %s: %s",
                       request.path, exception)
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                {"status": 503, "code": "service_unavailable", "detail": UNAVAILABLE_DETAIL}, status=503
            )
        else:
            response = HttpResponse(
                "<!doctype html><title>Temporarily unavailable</title>"
                f"<h1>Temporarily unavailable</h1><p>{UNAVAILABLE_DETAIL}</p>",
                status=503,
            )
        response["Retry-After"] = str(RETRY_AFTER_S)
        return response


# --- sparse logging -------------------------------------------------------------------------

_lock = threading.Lock()
_last: dict[str, tuple[float, int]] = {}  # key -> (when last logged, how many skipped since)


def warn_throttled(logger: logging.Logger, key: str, message: str, *args, every_s: float = 30.0) -> bool:
    """Log a warning at most once per `every_s` per key, saying how many were skipped.

    For warnings that can fire on every frame (a Redis outage): one SystemLog row per half
    minute instead of one per frame. Returns whether it logged."""
    now = time.monotonic()
    with _lock:
        logged_at, skipped = _last.get(key, (float("-inf"), 0))
        if now - logged_at < every_s:
            _last[key] = (logged_at, skipped + 1)
            return False
        _last[key] = (now, 0)
    if skipped:
        message += f" ({skipped} more like this in the last {every_s:g} s)"
    logger.warning(message, *args)
    return True
