"""User management forms (admin pages). Writes and password rules live in accounts.services."""

from __future__ import annotations

from django import forms

from accounts.models import User
from accounts.roles import Role


class UserFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=150)
    role = forms.ChoiceField(choices=[("", "All roles"), *Role.choices], required=False)


class UserEditForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("full_name", "email", "phone", "role", "is_active")

    def _post_clean(self) -> None:
        pass  # the model is validated by accounts.services.update_user (one place for the rules)


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    full_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    phone = forms.CharField(max_length=20, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters, not common, not only digits.",
    )
    password_again = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", "The two passwords differ.")
        return data

    def service_fields(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "password_again"}


class SetPasswordForm(forms.Form):
    password = forms.CharField(
        label="New password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
