from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from accounts.roles import Role
from core.api.strict import StrictSerializer

User = get_user_model()


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "full_name",
            "phone",
            "role",
            "is_active",
            "date_joined",
            "last_login",
        ]
        read_only_fields = ["id", "username", "date_joined", "last_login"]


class UserCreateSerializer(StrictSerializer):
    username = serializers.RegexField(
        r"^[A-Za-z0-9_.@+-]{3,50}$",
        error_messages={"invalid": "3 to 50 letters, digits or _ . @ + -."},
    )
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)
    full_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    phone = serializers.CharField(required=False, allow_blank=True, default="", max_length=20)


class UserUpdateSerializer(StrictSerializer):
    email = serializers.EmailField(required=False, allow_blank=True)
    full_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=20)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)


class PasswordResetSerializer(StrictSerializer):
    password = serializers.CharField(
        required=False,
        write_only=True,
        max_length=128,
        style={"input_type": "password"},
        help_text="Set this password now; leave it out to get a one-time set-password link instead.",
    )


class PasswordResetResultSerializer(serializers.Serializer):
    detail = serializers.CharField()
    set_password_link = serializers.CharField(required=False)


class LoginSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    access_token = serializers.CharField(help_text="Same as access (the original product's name).")
    refresh_token = serializers.CharField(help_text="Same as refresh.")
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")
    user = UserSerializer()


class RefreshSerializer(StrictSerializer):
    refresh = serializers.CharField(required=False)
    refresh_token = serializers.CharField(required=False, help_text="Same as refresh (original name).")

    def validate(self, attrs):
        token = attrs.get("refresh") or attrs.get("refresh_token")
        if not token:
            raise serializers.ValidationError({"refresh": "This field is required."})
        return {"refresh": token}


class RefreshResultSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    access_token = serializers.CharField()
    expires_in = serializers.IntegerField()
