"""Roles and the one rule every entry point shares: a higher role can do what a lower can."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    OPERATOR = "operator", "Operator"
    ADMIN = "admin", "Admin"


_RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.ADMIN: 3}


def role_of(user) -> Role | None:
    """The effective role of a user, or None for anonymous or inactive users."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not getattr(user, "is_active", False):
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    try:
        return Role(getattr(user, "role", ""))
    except ValueError:
        return None


def has_role(user, minimum: Role | str) -> bool:
    """True when the user is active and holds `minimum` or a higher role."""
    role = role_of(user)
    return role is not None and _RANK[role] >= _RANK[Role(minimum)]
