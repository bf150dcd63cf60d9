"""Role checks shared by the API (DRF permission classes), pages and websockets."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.roles import Role, has_role


class _RolePermission(BasePermission):
    minimum: Role = Role.ADMIN

    def has_permission(self, request, view) -> bool:
        return has_role(request.user, self.minimum)


class IsViewer(_RolePermission):
    """Any active user with a role (viewer, operator or admin)."""

    minimum = Role.VIEWER


class IsOperator(_RolePermission):
    minimum = Role.OPERATOR


class IsAdmin(_RolePermission):
    minimum = Role.ADMIN


class ReadViewerWriteAdmin(BasePermission):
    """Viewers read; only admins create, change or delete."""

    def has_permission(self, request, view) -> bool:
        needed = Role.VIEWER if request.method in SAFE_METHODS else Role.ADMIN
        return has_role(request.user, needed)


def role_required(minimum: Role):
    """Page decorator: anonymous users go to the login page, a lower role gets 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, minimum):
                raise PermissionDenied(f"This page needs the {minimum.label.lower()} role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
