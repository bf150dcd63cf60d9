"""The runtime settings API (admin); the bot token is write-only everywhere.

- GET/PATCH/PUT /api/settings/: every setting at once.
- GET /api/settings/<category>/, PUT /api/settings/<category>/<key>/ {"value": ...} and
  POST /api/settings/risk-thresholds/ {key: value, ...}: the original product's paths, so its
  clients keep working. Its key names are accepted as aliases; unknown keys are refused,
  never stored.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.permissions import IsAdmin
from alerts.telegram import send_test_message
from core.api.base import CrowdSafeAPIView, ErrorSerializer, parse_body
from core.api.strict import RejectUnknownFieldsMixin, StrictSerializer
from core.models import RuntimeSettings
from core.runtime_settings import get_runtime_settings, invalidate_cache, update_runtime_settings

_HIDDEN = {"id", "updated_at", "updated_by", "telegram_bot_token"}
EDITABLE = [f.name for f in RuntimeSettings._meta.concrete_fields if f.editable and f.name not in _HIDDEN]


def _answers(ok, *errors: int) -> dict:
    """The documented responses: `ok` for 200, the error body for each error status."""
    return {200: ok, **{status: ErrorSerializer for status in errors}}


class RuntimeSettingsSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
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


# The original product's groups. Every editable setting is in exactly one.
CATEGORIES: dict[str, list[str]] = {
    "risk": [
        "weight_density", "weight_surge", "weight_velocity", "boost_pressure", "boost_coherence",
        "density_caution", "density_warning", "density_critical",
        "risk_caution", "risk_warning", "risk_critical", "stagnant_speed", "surge_threshold",
        "surge_min_density", "pressure_radius_m",
    ],
    "alerts": [
        "alerts_enabled", "alert_cooldown_s", "alert_debounce_s", "all_clear_after_s",
        "telegram_enabled", "telegram_bot_token", "telegram_chat_ids",
    ],
    "ai": ["detector_confidence", "detector_iou"],
}
# The original product's key names for the same settings.
LEGACY_KEYS = {
    "velocity_stagnant": "stagnant_speed",
    "cooldown_seconds": "alert_cooldown_s",
    "telegram_chat_id": "telegram_chat_ids",
    "confidence": "detector_confidence",
    "confidence_threshold": "detector_confidence",
    "iou": "detector_iou",
    "iou_threshold": "detector_iou",
}
_SHOWN_WITH = {"telegram_bot_token": ["telegram_bot_token_set", "telegram_bot_token_masked"]}


def _category_or_404(category: str) -> list[str]:
    if category not in CATEGORIES:
        raise NotFound(f"No settings category {category!r}; there are {', '.join(CATEGORIES)}.")
    return CATEGORIES[category]


def _category_view(obj: RuntimeSettings, category: str) -> dict:
    data = RuntimeSettingsSerializer(obj).data
    shown = []
    for key in _category_or_404(category):
        shown += _SHOWN_WITH.get(key, [key])
    return {key: data[key] for key in shown}


def _update(request, changes: dict) -> RuntimeSettings:

    serializer = RuntimeSettingsSerializer(data=changes, partial=True)
    serializer.is_valid(raise_exception=True)
    return update_runtime_settings(dict(serializer.validated_data), user=request.user)


class SettingValueSerializer(StrictSerializer):
    value = serializers.JSONField(help_text="The new value, of the setting's type.")


class SettingsCategoryView(CrowdSafeAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="settings_category_retrieve",
        responses=_answers(OpenApiTypes.OBJECT, 401, 403, 404),
    )
    def get(self, request, category: str):
        """One group of settings (risk, alerts or ai) as {key: value}."""

        _category_or_404(category)
        invalidate_cache()
        return Response(_category_view(get_runtime_settings(), category))


class SettingKeyView(CrowdSafeAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="settings_key_update",
        request=SettingValueSerializer,
        responses=_answers(OpenApiTypes.OBJECT, 400, 401, 403, 404),
    )
    def put(self, request, category: str, key: str):
        """Change one setting of a group; answers with the whole group."""
        keys = _category_or_404(category)
        field = LEGACY_KEYS.get(key, key)
        if field not in keys:
            raise NotFound(f"No setting {key!r} in {category!r}; it has {', '.join(keys)}.")
        value = parse_body(SettingValueSerializer, request)["value"]
        return Response(_category_view(_update(request, {field: value}), category))


class RiskThresholdsView(CrowdSafeAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="settings_risk_thresholds_update",
        request=OpenApiTypes.OBJECT,
        responses=_answers(OpenApiTypes.OBJECT, 400, 401, 403),
    )
    def post(self, request):
        """Change several risk settings together ({key: value}); all are checked before any is saved."""
        if not isinstance(request.data, dict) or not request.data:
            raise serializers.ValidationError({"non_field_errors": ["Send a JSON object of risk settings."]})
        changes, unknown = {}, []
        for key, value in request.data.items():
            field = LEGACY_KEYS.get(key, key)
            if field in CATEGORIES["risk"]:
                changes[field] = value
            else:
                unknown.append(key)
        if unknown:
            raise serializers.ValidationError(
                {key: [f"Not a risk setting; they are {', '.join(CATEGORIES['risk'])}."] for key in unknown}
            )
        return Response(_category_view(_update(request, changes), "risk"))


class TelegramTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    detail = serializers.CharField()


class RuntimeSettingsView(CrowdSafeAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=_answers(RuntimeSettingsSerializer, 401, 403))
    def get(self, request):
        invalidate_cache()  # admins see what is stored now
        return Response(RuntimeSettingsSerializer(get_runtime_settings()).data)

    @extend_schema(
        request=RuntimeSettingsSerializer,
        responses=_answers(RuntimeSettingsSerializer, 400, 401, 403),
    )
    def patch(self, request):
        """Change some settings; everything is validated together and nothing is saved on error."""

        changes = parse_body(RuntimeSettingsSerializer, request, partial=True)
        try:
            obj = update_runtime_settings(dict(changes), user=request.user)
        except DjangoValidationError:
            raise
        return Response(RuntimeSettingsSerializer(obj).data)

    @extend_schema(
        request=RuntimeSettingsSerializer,
        responses=_answers(RuntimeSettingsSerializer, 400, 401, 403),
    )
    def put(self, request):
        return self.patch(request)


class TelegramTestView(CrowdSafeAPIView):
    permission_classes = [IsAdmin]
    bodyless_actions = frozenset({"post"})

    @extend_schema(request=None, responses=_answers(TelegramTestSerializer, 401, 403))
    def post(self, request):
        """Send a test message to the configured Telegram chats and report the answer."""

        result = send_test_message()
        return Response({"ok": bool(result.ok), "detail": result.detail})
