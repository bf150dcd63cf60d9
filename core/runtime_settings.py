"""Read and write the runtime settings, with a short per-process cache.

Camera runners call `get_runtime_settings()` on every frame; the cache keeps that to one
database read every few seconds per process, and a change reaches every process within
`CACHE_SECONDS` without a restart.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from core import audit
from core.models import RuntimeSettings

CACHE_SECONDS = 3.0
_lock = threading.Lock()
_cached: tuple[float, RuntimeSettings] | None = None


def get_runtime_settings() -> RuntimeSettings:
    """The current settings (cached for a few seconds). Treat the result as read-only."""
    global _cached
    now = time.monotonic()
    with _lock:
        if _cached is not None and now - _cached[0] < CACHE_SECONDS:
            return _cached[1]
    obj = _load()
    with _lock:
        _cached = (now, obj)
    return obj


def _load() -> RuntimeSettings:

    obj = RuntimeSettings.objects.filter(pk=1).first()
    if obj is None:
        # First use: seed from the deployment's environment. Telegram given there is on, as the
        # README promises (the original product sent to those chats at once).
        token, chats = settings.TELEGRAM_BOT_TOKEN, ", ".join(settings.TELEGRAM_CHAT_IDS)
        obj, _ = RuntimeSettings.objects.get_or_create(
            pk=1,
            defaults={
                "telegram_enabled": bool(token and chats),
                "telegram_bot_token": token,
                "telegram_chat_ids": chats,
                "detector_confidence": settings.CROWDSAFE_DETECTOR_CONF,
                "detector_iou": settings.CROWDSAFE_DETECTOR_IOU,
            },
        )
    return obj


def invalidate_cache() -> None:
    global _cached
    with _lock:
        _cached = None


@transaction.atomic
def update_runtime_settings(changes: dict[str, Any], *, user=None) -> RuntimeSettings:
    """Apply `changes` (field name -> value), validate everything, save, drop the cache.

    Raises django.core.exceptions.ValidationError (nothing is saved) on bad values or
    unknown fields. The audit trail names the fields whose value changed (never a value:
    the Telegram token must not reach the log).
    """

    obj = RuntimeSettings.objects.select_for_update().filter(pk=1).first() or _load()
    editable = {f.name for f in RuntimeSettings._meta.get_fields() if getattr(f, "editable", False)}
    unknown = set(changes) - (editable - {"id", "updated_at", "updated_by"})
    if unknown:
        raise ValidationError({name: "Unknown setting." for name in sorted(unknown)})
    changed = sorted(name for name, value in changes.items() if getattr(obj, name) != value)
    for name, value in changes.items():
        setattr(obj, name, value)
    obj.updated_by = user
    obj.full_clean()
    obj.save()
    if changed:
        audit.record(
            audit.Action.SETTINGS_UPDATE,
            actor=user,
            obj=obj,
            message=f"Settings changed: {', '.join(changed)}",
            fields=changed,
        )
    invalidate_cache()
    return obj
