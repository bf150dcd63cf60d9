"""GET/PATCH /api/settings/ (admin): the runtime settings; the bot token is write-only."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.permissions import IsAdmin
from crowdsafe.api.base import CrowdSafeAPIView, ErrorSerializer, parse_body
from crowdsafe.models import RuntimeSettings

_HIDDEN = {"id", "updated_at", "updated_by", "telegram_bot_token"}
EDITABLE = [f.name for f in RuntimeSettings._meta.concrete_fields if f.editable and f.name not in _HIDDEN]


class RuntimeSettingsSerializer(serializers.ModelSerializer):
    """Every setting; `telegram_bot_token` can be written but is only ever shown masked."""

    telegram_bot_token = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Write-only. Send an empty string to remove it.",
    )
    telegram_bot_token_set = serializers.SerializerMethodField()
    telegram_bot_token_masked = serializers.CharField(source="masked_token", read_only=True)
    updated_by = serializers.CharField(source="updated_by.username", default=None, read_only=True)

    class Meta:
        model = RuntimeSettings
        fields = [
            *EDITABLE,
            "telegram_bot_token",
            "telegram_bot_token_set",
            "telegram_bot_token_masked",
            "updated_at",
            "updated_by",
        ]
        read_only_fields = ["updated_at"]

    def get_telegram_bot_token_set(self, obj: RuntimeSettings) -> bool:
        return bool(obj.telegram_bot_token)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError({"non_field_errors": ["Send at least one setting to change."]})
        return attrs


class TelegramTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    detail = serializers.CharField()


class RuntimeSettingsView(CrowdSafeAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={200: RuntimeSettingsSerializer, 401: ErrorSerializer, 403: ErrorSerializer})
    def get(self, request):
        from crowdsafe.runtime_settings import get_runtime_settings, invalidate_cache

        invalidate_cache()  # admins see what is stored now
        return Response(RuntimeSettingsSerializer(get_runtime_settings()).data)

    @extend_schema(
        request=RuntimeSettingsSerializer,
        responses={
            200: RuntimeSettingsSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
        },
    )
    def patch(self, request):
        """Change some settings; everything is validated together and nothing is saved on error."""
        from crowdsafe.runtime_settings import update_runtime_settings

        changes = parse_body(RuntimeSettingsSerializer, request, partial=True)
        try:
            obj = update_runtime_settings(dict(changes), user=request.user)
        except DjangoValidationError:
            raise
        return Response(RuntimeSettingsSerializer(obj).data)

    @extend_schema(
        request=RuntimeSettingsSerializer,
        responses={
            200: RuntimeSettingsSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
        },
    )
    def put(self, request):
        return self.patch(request)


class TelegramTestView(CrowdSafeAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=None, responses={200: TelegramTestSerializer, 401: ErrorSerializer, 403: ErrorSerializer}
    )
    def post(self, request):
        """Send a test message to the configured Telegram chats and report the answer."""
        from alerts.telegram import send_test_message

        result = send_test_message()
        return Response({"ok": bool(result.ok), "detail": result.detail})
