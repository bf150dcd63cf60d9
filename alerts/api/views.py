"""Alerts: list with filters, detail, acknowledge / resolve (operator), count and statistics."""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import IsOperator, IsViewer
from alerts.api.serializers import (
    AlertDetailSerializer,
    AlertSerializer,
    CountSerializer,
    NoteSerializer,
    StatisticsSerializer,
)
from alerts.clip_store import CLIPS_FOLDER, SNAPSHOTS_FOLDER, media_path
from alerts.models import Alert, AlertLevel, AlertStatus, AlertTrigger
from alerts.selectors import alert_statistics, unacknowledged_count
from alerts.services import acknowledge_alert, resolve_alert
from core.api.base import CrowdSafeViewSet, ErrorSerializer, parse_body
from core.api.filters import DateTimeFilter
from core.media import file_response

_errors = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class AlertFilter(filters.FilterSet):
    camera = filters.NumberFilter(field_name="camera_id", min_value=1, max_value=2**63 - 1)
    camera_id = filters.NumberFilter(field_name="camera_id", min_value=1, max_value=2**63 - 1)
    zone = filters.NumberFilter(field_name="zone_id", min_value=1, max_value=2**63 - 1)
    level = filters.ChoiceFilter(choices=AlertLevel.choices)
    risk_level = filters.ChoiceFilter(
        field_name="level", choices=AlertLevel.choices, help_text="Same as level."
    )
    status = filters.ChoiceFilter(choices=AlertStatus.choices)
    trigger = filters.ChoiceFilter(choices=AlertTrigger.choices)
    resolved = filters.BooleanFilter(method="filter_resolved")
    acknowledged = filters.BooleanFilter(method="filter_acknowledged")
    start = DateTimeFilter(field_name="created_at", lookup_expr="gte", help_text="ISO 8601, inclusive")
    end = DateTimeFilter(field_name="created_at", lookup_expr="lt", help_text="ISO 8601, exclusive")

    class Meta:
        model = Alert
        fields = ["camera", "zone", "level", "status", "trigger", "start", "end"]

    def filter_resolved(self, qs, name, value):
        return qs.filter(status=AlertStatus.RESOLVED) if value else qs.exclude(status=AlertStatus.RESOLVED)

    def filter_acknowledged(self, qs, name, value):
        return qs.exclude(status=AlertStatus.OPEN) if value else qs.filter(status=AlertStatus.OPEN)

    def __init__(self, data=None, *args, **kwargs):
        if data is not None:
            data = data.copy()
            for key in ("level", "risk_level"):
                if isinstance(data.get(key), str):
                    data[key] = data[key].upper()
        super().__init__(data, *args, **kwargs)


def _media(request, file, what: str, folder: str):
    """An alert's file, for any signed-in role (viewers review events too); only ever a file
    inside its media folder (a row pointing elsewhere gets a 404)."""
    path = media_path(file.name, folder) if file else None
    if path is None:
        raise exceptions.NotFound(f"This alert has no {what}.")
    return file_response(request, path)


class AlertViewSet(CrowdSafeViewSet):
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    queryset = Alert.objects.select_related("camera", "zone", "acknowledged_by", "resolved_by").order_by(
        "-created_at", "-id"
    )

    @extend_schema(
        responses={(200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY), **_errors}
    )
    @action(detail=True, methods=["get"])
    def snapshot(self, request, pk=None):
        """The annotated frame that raised the alert (JPEG)."""
        return _media(request, self.get_object().snapshot, "snapshot", SNAPSHOTS_FOLDER)

    @extend_schema(
        responses={(200, "video/mp4"): OpenApiResponse(OpenApiTypes.BINARY), **_errors}
    )
    @action(detail=True, methods=["get"])
    def clip(self, request, pk=None):
        """The event clip (H.264 MP4, Range requests for seeking); 404 until it is cut."""
        return _media(request, self.get_object().clip, "clip", CLIPS_FOLDER)

    def get_permissions(self):
        return [IsOperator() if self.action in ("acknowledge", "resolve") else IsViewer()]

    @extend_schema(responses={200: AlertSerializer(many=True), **_errors})
    def list(self, request):
        """Newest first; filter by camera, zone, level, status, trigger and a created_at range."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = AlertSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)

    @extend_schema(responses={200: AlertDetailSerializer, **_errors})
    def retrieve(self, request, pk=None):
        alert = self.get_object()
        return Response(AlertDetailSerializer(alert, context={"request": request}).data)

    @extend_schema(request=NoteSerializer, responses={200: AlertDetailSerializer, **_errors})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        note = parse_body(NoteSerializer, request)["note"]
        alert = acknowledge_alert(self.get_object(), user=request.user, note=note)
        return Response(AlertDetailSerializer(alert, context={"request": request}).data)

    @extend_schema(request=NoteSerializer, responses={200: AlertDetailSerializer, **_errors})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        note = parse_body(NoteSerializer, request)["note"]
        alert = resolve_alert(self.get_object(), user=request.user, note=note)
        return Response(AlertDetailSerializer(alert, context={"request": request}).data)

    @extend_schema(responses={200: CountSerializer, 401: ErrorSerializer, 403: ErrorSerializer})
    @action(detail=False, methods=["get"], url_path="unacknowledged/count", filterset_class=None)
    def unacknowledged_count(self, request):
        return Response({"count": unacknowledged_count()})

    @extend_schema(responses={200: StatisticsSerializer, **_errors})
    @action(detail=False, methods=["get"])
    def statistics(self, request):
        """Counts by level, status and trigger, over the alerts the list filters select."""

        stats = alert_statistics(self.filter_queryset(self.get_queryset()))
        return Response({**stats, "total_alerts": stats["total"]})
