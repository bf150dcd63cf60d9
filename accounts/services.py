"""Writes on users: create, update, deactivate, delete, passwords; the last admin is protected.

Every change leaves one entry in the audit trail (`core.audit`) with the acting user, and
no function ever returns or logs a password.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import WallLayout
from accounts.roles import Role
from core import audit

User = get_user_model()
EDITABLE_FIELDS = ("email", "full_name", "phone", "role", "is_active", "first_name", "last_name")


def record_user_change(action: str, message: str, *, by, target, **details) -> None:
    """One audit entry on a user (also for the admin site's own writes)."""
    audit.record(action, actor=by, obj=target, message=message, **details)


def _active_admins():
    return User.objects.filter(is_active=True).filter(Q(role=Role.ADMIN) | Q(is_superuser=True))


def _ensure_an_admin_remains(user, *, role: str, is_active: bool, deleting: bool = False) -> None:
    """Refuse a change that would leave no active admin (nobody could manage the platform)."""
    was_admin = user.is_active and (user.role == Role.ADMIN or user.is_superuser)
    stays_admin = not deleting and is_active and role == Role.ADMIN
    if was_admin and not stays_admin:
        # Lock the admins' rows so two concurrent demotions cannot both pass.
        others = list(_active_admins().exclude(pk=user.pk).select_for_update().values_list("pk", flat=True))
        if not others:
            field = "role" if not deleting and is_active else ("user" if deleting else "is_active")
            raise ValidationError({field: "This is the last active admin; make another admin first."})


def check_admin_remains(user, *, role: str, is_active: bool) -> None:
    """The last-admin rule for a form (the services check it again, under a lock)."""
    _ensure_an_admin_remains(user, role=role, is_active=is_active)


def is_last_admin(user) -> bool:
    was_admin = user.is_active and (user.role == Role.ADMIN or user.is_superuser)
    return was_admin and not _active_admins().exclude(pk=user.pk).exists()


def _check_password(password: str, user) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc


@transaction.atomic
def create_user(
    *,
    username: str,
    password: str,
    email: str = "",
    role: str = Role.VIEWER,
    full_name: str = "",
    phone: str = "",
    by=None,
):
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "A user with that username already exists."})
    if email and User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "A user with that e-mail address already exists."})
    user = User(username=username, email=email, role=role, full_name=full_name, phone=phone)
    _check_password(password, user)
    user.set_password(password)
    user.full_clean()
    user.save()
    message = f"User {user.username} created with role {user.role}"
    record_user_change(audit.Action.USER_CREATE, message, by=by, target=user, role=user.role)
    return user


@transaction.atomic
def update_user(user, *, by=None, **fields):
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be changed here." for name in sorted(unknown)})
    user = User.objects.select_for_update().get(pk=user.pk)
    email = fields.get("email")
    if email and User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise ValidationError({"email": "A user with that e-mail address already exists."})
    current_role = Role.ADMIN if user.is_superuser else user.role
    was_active = user.is_active
    changed = sorted(name for name, value in fields.items() if getattr(user, name) != value)
    _ensure_an_admin_remains(
        user, role=fields.get("role", current_role), is_active=fields.get("is_active", user.is_active)
    )
    for name, value in fields.items():
        setattr(user, name, value)
    if fields.get("role", Role.ADMIN) != Role.ADMIN:
        user.is_superuser = False  # a demoted superuser is demoted (User.save would restore the role)
    user.full_clean()
    user.save()
    if not changed:
        return user
    if was_active and not user.is_active:
        action, message = audit.Action.USER_DEACTIVATE, f"User {user.username} deactivated"
    elif user.role != current_role:
        action, message = audit.Action.USER_ROLE_CHANGE, f"User {user.username}: {current_role} → {user.role}"
    else:
        action, message = audit.Action.USER_UPDATE, f"User {user.username} updated ({', '.join(changed)})"
    record_user_change(action, message, by=by, target=user, fields=changed, role=user.role)
    return user


def deactivate_user(user, *, by=None):
    return update_user(user, by=by, is_active=False)


@transaction.atomic
def delete_user(user, *, by=None) -> None:
    if by is not None and by.pk == user.pk:
        raise ValidationError({"user": "You cannot delete your own account."})
    _ensure_an_admin_remains(user, role=user.role, is_active=user.is_active, deleting=True)
    record_user_change(audit.Action.USER_DELETE, f"User {user.username} deleted", by=by, target=user)
    user.delete()


@transaction.atomic
def set_password(user, password: str, *, by=None) -> None:
    """An admin sets a new password; the old sessions and refresh tokens stop working."""
    _check_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])  # User.save revokes the refresh tokens
    message = f"Password of {user.username} set by an admin"
    record_user_change(audit.Action.USER_PASSWORD_SET, message, by=by, target=user)


def password_reset_link(user, *, by=None, request=None) -> str:
    """A one-time set-password link (Django's token: void once used or after PASSWORD_RESET_TIMEOUT)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    try:
        path = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    except NoReverseMatch:
        path = f"/reset/{uid}/{token}/"
    message = f"Set-password link issued for {user.username}"
    record_user_change(audit.Action.USER_RESET_LINK, message, by=by, target=user)
    return request.build_absolute_uri(path) if request is not None else path


def revoke_refresh_tokens(user) -> None:
    """Blacklist every refresh token of the user (called on any password change)."""

    live = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in live], ignore_conflicts=True)


def set_wall_layout(user, layout: str) -> None:
    """The user's video wall layout (a `WallLayout` value); anything else is refused."""
    if layout not in WallLayout.values:
        choices = ", ".join(WallLayout.values)
        raise ValidationError({"layout": f"Unknown layout {layout!r}; choose one of {choices}."})
    User.objects.filter(pk=user.pk).update(wall_layout=layout)
    user.wall_layout = layout
