"""The audit trail: who did what to which object, kept in the system log.

`record()` is the one writer. The services that perform an action call it (inside their
transaction, so a rolled-back action leaves no entry), and so do the auth signal receivers
(accounts/signals.py). Core imports no other app: the caller passes the actor and the
object in, and the object's type and label come from `_meta` and `str()`.

Never pass a secret (password, token) in `details`: they are shown to every admin.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from core.models import SystemLog

Kind = SystemLog.Kind


class Action(models.TextChoices):
    LOGIN = "auth.login", "Signed in"
    LOGIN_FAILED = "auth.login_failed", "Sign-in failed"
    LOGOUT = "auth.logout", "Signed out"
    CAMERA_CREATE = "camera.create", "Camera created"
    CAMERA_UPDATE = "camera.update", "Camera changed"
    CAMERA_START = "camera.start", "Camera started"
    CAMERA_STOP = "camera.stop", "Camera stopped"
    CAMERA_DELETE = "camera.delete", "Camera deleted"
    CONNECTION_FAILED = "connection.failed", "Camera connection failed"
    CONNECTION_RECOVERED = "connection.recovered", "Camera connection recovered"
    ZONE_CREATE = "zone.create", "Zone created"
    ZONE_UPDATE = "zone.update", "Zone changed"
    ZONE_DELETE = "zone.delete", "Zone deleted"
    LINE_CREATE = "line.create", "Counting line created"
    LINE_UPDATE = "line.update", "Counting line changed"
    LINE_DELETE = "line.delete", "Counting line deleted"
    EXCLUSION_CREATE = "exclusion.create", "Exclusion area created"
    EXCLUSION_UPDATE = "exclusion.update", "Exclusion area changed"
    EXCLUSION_DELETE = "exclusion.delete", "Exclusion area deleted"
    SETTINGS_UPDATE = "settings.update", "Settings changed"
    ALERT_ACKNOWLEDGE = "alert.acknowledge", "Alert acknowledged"
    ALERT_RESOLVE = "alert.resolve", "Alert resolved"
    USER_CREATE = "user.create", "User created"
    USER_UPDATE = "user.update", "User changed"
    USER_ROLE_CHANGE = "user.role_change", "User role changed"
    USER_DEACTIVATE = "user.deactivate", "User deactivated"
    USER_DELETE = "user.delete", "User deleted"
    USER_PASSWORD_SET = "user.password_set", "Password set by an admin"
    USER_RESET_LINK = "user.reset_link", "Set-password link issued"


def kind_of(action: str) -> str:
    """The group an action is filtered under: its prefix ("line" and "exclusion" go with "zone")."""
    prefix = action.split(".", 1)[0]
    return Kind.ZONE if prefix in ("line", "exclusion") else Kind(prefix)


def actions_of(kind: str) -> list[str]:
    return [action for action in Action.values if kind_of(action) == kind]


def record(
    action: str,
    *,
    actor=None,
    obj=None,
    message: str = "",
    level: str = SystemLog.Level.INFO,
    **details: Any,
) -> SystemLog:
    """Write one audit entry: `action` (an `Action`), done by `actor` (a user; None or an
    anonymous user for the system) to `obj` (a model instance, before it is deleted)."""
    action = Action(action)
    object_type = obj._meta.model_name if obj is not None else ""
    object_id = str(obj.pk) if obj is not None and obj.pk is not None else ""
    object_label = str(obj)[:200] if obj is not None else ""
    if not message:
        target = f" {object_type} {object_id} “{object_label}”" if obj is not None else ""
        message = f"{action.label}:{target}" if target else action.label
    return SystemLog.objects.create(
        level=level,
        component="audit",
        kind=kind_of(action),
        action=action,
        actor=actor if getattr(actor, "is_authenticated", False) and actor.pk else None,
        object_type=object_type,
        object_id=object_id,
        object_label=object_label,
        message=message[:4000],
        details={name: _jsonable(value) for name, value in details.items()},
    )


def last_action(object_type: str, object_id, actions: list[str]) -> str | None:
    """The newest of `actions` recorded on an object, or None."""
    return (
        SystemLog.objects.filter(object_type=object_type, object_id=str(object_id), action__in=actions)
        .order_by("-id")
        .values_list("action", flat=True)
        .first()
    )


def _jsonable(value):
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
