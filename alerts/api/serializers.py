from __future__ import annotations

from rest_framework import serializers

from accounts.roles import Role, has_role
from alerts.models import Alert, AlertEvent
from alerts.text import hide_chat_ids
from core.api.strict import StrictSerializer


def _shows_chat_ids(serializer: serializers.Serializer) -> bool:
    request = serializer.context.get("request")
    return has_role(getattr(request, "user", None), Role.ADMIN)


class AlertEventSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", default=None, read_only=True)

    class Meta:
        model = AlertEvent
        fields = ["action", "user", "note", "at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not _shows_chat_ids(self):
            data["note"] = hide_chat_ids(data["note"])
        return data


class AlertSerializer(serializers.ModelSerializer):
    camera_name = serializers.CharField(source="camera.name", read_only=True)
    zone_name = serializers.CharField(source="zone.name", default=None, read_only=True)
    acknowledged_by = serializers.CharField(source="acknowledged_by.username", default=None, read_only=True)
    resolved_by = serializers.CharField(source="resolved_by.username", default=None, read_only=True)
    snapshot_url = serializers.CharField(
        read_only=True, allow_null=True, help_text="JPEG of the frame that raised it"
    )
    clip_url = serializers.CharField(
        read_only=True, allow_null=True, help_text="H.264 MP4 around the trigger; null until it is cut"
    )
    clip_trigger_s = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Seconds into the clip where the alert was raised"
    )
    risk_score = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id",
            "camera",
            "camera_name",
            "zone",
            "zone_name",
            "level",
            "trigger",
            "message",
            "metrics",
            "peak_metrics",
            "risk_score",
            "snapshot_url",
            "video_time_s",
            "clip_url",
            "clip_start_s",
            "clip_duration_s",
            "clip_trigger_s",
            "status",
            "acknowledged_by",
            "acknowledged_at",
            "acknowledge_note",
            "resolved_by",
            "resolved_at",
            "resolve_note",
            "all_clear_at",
            "notification_state",
            "notification_error",
            "notified_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not _shows_chat_ids(self):
            data["notification_error"] = hide_chat_ids(data["notification_error"])
        return data

    def get_risk_score(self, alert: Alert) -> float | None:
        value = (alert.metrics or {}).get("risk_score")
        return value if isinstance(value, int | float) else None


class AlertDetailSerializer(AlertSerializer):
    events = AlertEventSerializer(many=True, read_only=True)

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "events"]
        read_only_fields = fields


class NoteSerializer(StrictSerializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class StatisticsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    total_alerts = serializers.IntegerField()
    by_level = serializers.DictField(child=serializers.IntegerField())
    by_status = serializers.DictField(child=serializers.IntegerField())
    by_trigger = serializers.DictField(child=serializers.IntegerField())
    unacknowledged = serializers.IntegerField()
    unresolved = serializers.IntegerField()
