from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models

from accounts.roles import Role, has_role

phone_validator = RegexValidator(r"^\+?[0-9 ()-]{5,20}$", "Enter a phone number such as +44 20 7946 0958.")


class WallLayout(models.TextChoices):
    """The dashboard's video wall: tiles per row (auto: as many as suit the number of cameras)."""

    AUTO = "auto", "Auto"
    ONE = "1", "1 × 1"
    TWO = "2", "2 × 2"
    THREE = "3", "3 × 3"
    FOUR = "4", "4 × 4"


class User(AbstractUser):
    """A CrowdSafe user. `role` decides what they may do; admins also get the admin site."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER, db_index=True)
    full_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=20, blank=True, validators=[phone_validator])
    # Kept on the server so the wall looks the same in every browser the user signs in from.
    wall_layout = models.CharField(max_length=4, choices=WallLayout.choices, default=WallLayout.AUTO)

    class Meta:
        ordering = ["username"]

    def save(self, *args, **kwargs):
        # A superuser is an admin, visibly: the role says so (no hidden admins behind "Viewer").
        if self.is_superuser:
            self.role = Role.ADMIN
        # The admin site is for admins only: staff status follows the role.
        self.is_staff = self.role == Role.ADMIN
        # set_password() leaves the raw password in _password until the save: any route
        # (admin site, reset link, API, shell) that changes it revokes the refresh tokens.
        password_changed = self.pk is not None and getattr(self, "_password", None) is not None
        super().save(*args, **kwargs)
        if password_changed:
            # At call time: accounts.services needs this model loaded (get_user_model()).
            from accounts.services import revoke_refresh_tokens

            revoke_refresh_tokens(self)

    @property
    def is_admin(self) -> bool:
        return has_role(self, Role.ADMIN)

    @property
    def is_operator(self) -> bool:
        return has_role(self, Role.OPERATOR)

    def has_perm(self, perm, obj=None) -> bool:
        # Admins manage every model in the admin site; other roles get nothing there.
        if self.is_active and self.role == Role.ADMIN:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label) -> bool:
        if self.is_active and self.role == Role.ADMIN:
            return True
        return super().has_module_perms(app_label)

    def __str__(self) -> str:
        return self.username
