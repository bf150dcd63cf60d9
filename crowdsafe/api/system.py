"""GET /api/system/stats/ (viewer) and /api/system/logs/ (admin, filterable: crowdsafe/logs.py)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from accounts.permissions import IsAdmin, IsViewer
from accounts.throttle import client_ident
from alerts.models import Alert, AlertStatus
from analytics.models import Metric
from cameras.api.serializers import live_metrics
from cameras.models import Camera, CameraStatus, Recording
from cameras.runtime.capacity import stream_capacity
from core.api.base import CrowdSafeAPIView, CrowdSafeViewSet, ErrorSerializer
from core.models import SystemLog
from crowdsafe.api_health import health
from crowdsafe.logs import SystemLogFilter, system_log


class StreamSlotsSerializer(serializers.Serializer):
    slots = serializers.IntegerField(help_text="Cameras the live streams workers can run at once.")
    busy = serializers.IntegerField(help_text="Cameras running now (each holds a slot).")
    free = serializers.IntegerField()


class StatsSerializer(serializers.Serializer):
    cameras_total = serializers.IntegerField()
    cameras_active = serializers.IntegerField()
    cameras_by_status = serializers.DictField(child=serializers.IntegerField())
    alerts_total = serializers.IntegerField()
    alerts_unacknowledged = serializers.IntegerField()
    alerts_unresolved = serializers.IntegerField()
    metrics_last_24h = serializers.IntegerField()
    total_people_detected = serializers.IntegerField(help_text="People in view of the running cameras now.")
    recordings_total = serializers.IntegerField()
    users_active = serializers.IntegerField()
    stream_slots = StreamSlotsSerializer(allow_null=True)


def _stream_slots() -> dict[str, int] | None:

    try:
        return stream_capacity().as_dict()
    except Exception:  # noqa: BLE001 - Redis away: unknown, the rest still answers
        return None


class SystemStatsView(CrowdSafeAPIView):
    permission_classes = [IsViewer]

    @extend_schema(responses={200: StatsSerializer, 401: ErrorSerializer, 403: ErrorSerializer})
    def get(self, request):

        by_status = dict(Camera.objects.order_by().values_list("status").annotate(n=Count("id")))
        running = Camera.objects.filter(status=CameraStatus.RUNNING).values_list("pk", flat=True)
        people = sum(int((live_metrics(pk) or {}).get("count") or 0) for pk in running)
        alerts = dict(Alert.objects.order_by().values_list("status").annotate(n=Count("id")))
        return Response(
            {
                "cameras_total": sum(by_status.values()),
                "cameras_active": by_status.get(CameraStatus.RUNNING, 0),
                "cameras_by_status": {s: by_status.get(s, 0) for s in CameraStatus.values},
                "alerts_total": sum(alerts.values()),
                "alerts_unacknowledged": alerts.get(AlertStatus.OPEN, 0),
                "alerts_unresolved": alerts.get(AlertStatus.OPEN, 0)
                + alerts.get(AlertStatus.ACKNOWLEDGED, 0),
                "metrics_last_24h": Metric.objects.filter(
                    timestamp__gte=timezone.now() - timedelta(hours=24)
                ).count(),
                "total_people_detected": people,
                "recordings_total": Recording.objects.count(),
                "users_active": get_user_model().objects.filter(is_active=True).count(),
                "stream_slots": _stream_slots(),
            }
        )


class SystemLogSerializer(serializers.ModelSerializer):
    user = serializers.CharField(
        source="actor.username", default=None, read_only=True, help_text="The actor's username."
    )

    class Meta:
        model = SystemLog
        fields = [
            "id", "timestamp", "level", "component", "message", "details", "kind", "action",
            "actor", "user", "object_type", "object_id", "object_label",
        ]
        read_only_fields = fields
        extra_kwargs = {"actor": {"help_text": "The user who acted (id); null for the system."}}


class SystemLogViewSet(CrowdSafeViewSet):
    """The system log: platform warnings and the audit trail (admins only)."""

    permission_classes = [IsAdmin]
    serializer_class = SystemLogSerializer
    filterset_class = SystemLogFilter
    queryset = system_log()

    @extend_schema(
        responses={
            200: SystemLogSerializer(many=True),
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
        }
    )
    def list(self, request):
        """Newest first."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(SystemLogSerializer(page, many=True).data)


class NotificationsSerializer(serializers.Serializer):
    sending = serializers.BooleanField()
    reason = serializers.ChoiceField(
        choices=["ok", "alerts_disabled", "telegram_disabled", "no_token", "no_chat_ids", "last_send_failed"]
    )
    detail = serializers.CharField(help_text="A plain sentence; chat IDs and token shown to admins only.")
    last_sent_at = serializers.DateTimeField(allow_null=True)
    last_failed_at = serializers.DateTimeField(allow_null=True)


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "error"])
    database = serializers.CharField()
    redis = serializers.CharField()
    workers = serializers.IntegerField(allow_null=True, help_text="Celery workers answering a ping.")
    cameras_running = serializers.IntegerField(allow_null=True)
    notifications = NotificationsSerializer(
        allow_null=True, help_text="Whether alerts reach Telegram and, when not, why (it never fails health)."
    )
    stream_slots = StreamSlotsSerializer(allow_null=True)
    checked_in_ms = serializers.FloatField()


class HealthThrottle(SimpleRateThrottle):
    """Per client address (CROWDSAFE_HEALTH_THROTTLE); with Redis down the check still answers."""

    scope = "health"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_ident(request)}

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:  # noqa: BLE001 - the health check reports Redis; it must not fail on it
            return True


class HealthView(CrowdSafeAPIView):
    """Liveness of the database, Redis, workers and cameras; unauthenticated, no secrets (503 when down).

    Throttled per client address; the worker count is cached for 10 s."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [HealthThrottle]

    @extend_schema(auth=[], responses={200: HealthSerializer, 429: ErrorSerializer, 503: HealthSerializer})
    def get(self, request):
        return health(request._request)
