"""The Django admin site for users: every change goes through accounts.services, so the
last-admin rule and the audit trail (SystemLog) apply here as on the pages and the API.
Superuser status is not a separate switch: the role decides (an admin is a superuser)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import ValidationError
from rest_framework_simplejwt.token_blacklist import admin as _jwt_admin
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts import services
from accounts.models import User
from core import audit


class UserAdminChangeForm(UserChangeForm):
    def clean(self):
        data = super().clean()
        if self.instance.pk:
            role = data.get("role", self.instance.role)
            is_active = data.get("is_active", self.instance.is_active)
            original = User.objects.get(pk=self.instance.pk)
            try:
                services.check_admin_remains(original, role=role, is_active=is_active)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
        return data


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminChangeForm
    list_display = ("username", "full_name", "email", "role", "is_active", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("username", "full_name", "email")
    readonly_fields = ("last_login", "date_joined", "is_staff", "is_superuser")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Profile", {"fields": ("full_name", "email", "phone")}),
        ("Access", {"fields": ("role", "is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "role", "password1", "password2")}),
    )

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            services.record_user_change(
                audit.Action.USER_CREATE, f"User {obj.username} created with role {obj.role} (admin site)",
                by=request.user, target=obj, role=obj.role,
            )
            return
        editable = services.EDITABLE_FIELDS
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in editable}
        if "username" in form.changed_data:
            User.objects.filter(pk=obj.pk).update(username=obj.username)
            services.record_user_change(
                audit.Action.USER_UPDATE, f"User renamed to {obj.username} (admin site)",
                by=request.user, target=obj, fields=["username"],
            )
        services.update_user(obj, by=request.user, **fields)
        obj.refresh_from_db()

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and (obj.pk == request.user.pk or services.is_last_admin(obj)):
            return False  # the delete button disappears; the view answers 403
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj) -> None:
        services.delete_user(obj, by=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for user in queryset:
            try:
                services.delete_user(user, by=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{user}: {' '.join(exc.messages)}", messages.ERROR)

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        if request.path.rstrip("/").endswith("/password"):
            message = f"Password of {obj.username} changed in the admin site"
            services.record_user_change(audit.Action.USER_PASSWORD_SET, message, by=request.user, target=obj)
        return entry


# simplejwt's own admin shows each outstanding refresh token in full (a live credential for
# every user): replace it with one that shows who, when and the token id, never the token.
admin.site.unregister(OutstandingToken)


@admin.register(OutstandingToken)
class OutstandingTokenAdmin(_jwt_admin.OutstandingTokenAdmin):
    fields = ("jti", "user", "created_at", "expires_at")
    search_fields = ("user__username", "jti")

    def get_readonly_fields(self, *args, **kwargs) -> list[str]:
        return list(self.fields)


__all__ = ["OutstandingTokenAdmin", "UserAdmin"]
