"""A logging handler that keeps platform warnings and errors in the SystemLog table."""

from __future__ import annotations

import asyncio
import logging
import threading
import traceback

_local = threading.local()


class DatabaseLogHandler(logging.Handler):
    """Writes records to `core.models.SystemLog`.

    Never raises and never recurses: a failing write (database down, apps not ready, an
    async context) is dropped, because logging must not take the platform down with it.
    """

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(_local, "busy", False):
            return
        _local.busy = True
        try:
            details = {"logger": record.name, "module": record.module, "line": record.lineno}
            extra = getattr(record, "details", None)
            if isinstance(extra, dict):
                details.update({k: _jsonable(v) for k, v in extra.items()})
            if record.exc_info:
                details["exception"] = "".join(traceback.format_exception(*record.exc_info))[-4000:]
            fields = {
                "level": record.levelname[:8],
                "component": str(getattr(record, "component", record.name))[:100],
                "message": record.getMessage()[:4000],
                "details": details,
            }
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                _write(fields)
            else:  # the ORM is synchronous: write from a thread inside an event loop
                threading.Thread(target=_write, args=(fields,), daemon=True).start()
        except Exception:  # noqa: BLE001 - see docstring
            pass
        finally:
            _local.busy = False


def _write(fields: dict) -> None:
    _local.busy = True
    try:
        from django.apps import apps

        if not apps.ready:
            return
        from core.models import SystemLog

        SystemLog.objects.create(**fields)
    except Exception:  # noqa: BLE001
        pass
    finally:
        _local.busy = False


def _jsonable(value):
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
